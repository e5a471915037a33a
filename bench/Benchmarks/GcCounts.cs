namespace Benchmarks;

/// <summary>The collector's counts and total pause, to say how much of a lateness tail is the collector's.</summary>
internal readonly record struct GcCounts(int Gen0, int Gen1, int Gen2, TimeSpan Paused)
{
    public static GcCounts Now() => new(GC.CollectionCount(0), GC.CollectionCount(1), GC.CollectionCount(2), GC.GetTotalPauseDuration());

    public static GcCounts operator -(GcCounts a, GcCounts b) => new(a.Gen0 - b.Gen0, a.Gen1 - b.Gen1, a.Gen2 - b.Gen2, a.Paused - b.Paused);

    public override string ToString() =>
        $"gen0 {Gen0}, gen1 {Gen1}, gen2 {Gen2}; paused {Paused.TotalMilliseconds:0} ms in all" +
        (Gen0 > 0 ? $", {Paused.TotalMilliseconds / Gen0:0.0} ms per collection" : "");
}
