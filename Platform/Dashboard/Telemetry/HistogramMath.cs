namespace Platform.Dashboard.Telemetry;

public static class HistogramMath
{
    /// <summary>
    /// Estimates the q-quantile (0..1) from explicit-bucket counts, interpolating linearly inside the bucket
    /// (bucket i holds values in (bounds[i-1], bounds[i]]; the last bucket is open, its upper edge taken as
    /// the last bound). Returns null when there are no observations.
    /// </summary>
    public static double? Quantile(double q, IReadOnlyList<double> bounds, IReadOnlyList<ulong> counts)
    {
        ulong total = 0;
        foreach (var c in counts) total += c;
        if (total == 0 || counts.Count == 0) return null;
        var rank = q * total;
        double cumulative = 0;
        for (var i = 0; i < counts.Count; i++)
        {
            var next = cumulative + counts[i];
            if (next >= rank && counts[i] > 0)
            {
                var lower = i == 0 ? Math.Min(0, bounds.Count > 0 ? bounds[0] : 0) : bounds[Math.Min(i - 1, bounds.Count - 1)];
                var upper = i < bounds.Count ? bounds[i] : (bounds.Count > 0 ? bounds[^1] : 0);
                var fraction = (rank - cumulative) / counts[i];
                return lower + (upper - lower) * Math.Clamp(fraction, 0, 1);
            }
            cumulative = next;
        }
        return bounds.Count > 0 ? bounds[^1] : 0;
    }

    /// <summary>
    /// Counts observed between two cumulative points (what happened in that interval), or the point's own
    /// counts when there is no comparable previous point (first point, bounds changed, or a counter reset).
    /// </summary>
    public static ulong[] IntervalCounts(MetricPoint? previous, MetricPoint current)
    {
        var now = current.BucketCounts ?? [];
        if (!current.Cumulative || previous?.BucketCounts is not { } before || before.Length != now.Length || previous.Count > current.Count)
            return now;
        var result = new ulong[now.Length];
        for (var i = 0; i < now.Length; i++) result[i] = now[i] >= before[i] ? now[i] - before[i] : now[i];
        return result;
    }
}
