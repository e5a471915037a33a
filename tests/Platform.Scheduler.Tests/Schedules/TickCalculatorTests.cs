using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Tests.Schedules;

public class TickCalculatorTests
{
    private static readonly DateTimeOffset Created = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    /// <summary>Runs the algorithm to completion (every tick acked at once), returning the tick times as offsets from creation.</summary>
    private static List<double> Run(string? schedule, uint? repeats, string? due, string? ttl, int max = 100)
    {
        var t = JobTiming.Resolve(new JobTimingSpec(schedule, repeats, due, ttl), Created);
        var ticks = new List<double>();
        uint count = 0;
        var last = TickCalculator.None;
        while (ticks.Count < max)
        {
            var next = TickCalculator.Next(t.Schedule, t.Repeats ?? 0, t.Created.UtcTicks, t.Due?.UtcTicks ?? TickCalculator.None,
                t.Expiration?.UtcTicks ?? long.MaxValue, count, last);
            if (next == TickCalculator.None) break;
            ticks.Add(TimeSpan.FromTicks(next - Created.UtcTicks).TotalSeconds);
            count++;
            last = next;
        }
        return ticks;
    }

    [Fact] public void One_shot_fires_once_at_due_time() => Assert.Equal([5], Run(null, null, "5s", null));
    [Fact] public void One_shot_with_repeats_one() => Assert.Equal([5], Run(null, 1, "5s", null));
    [Fact] public void Creation_instant_never_fires() => Assert.Equal([1, 2, 3], Run("@every 1s", 3, null, null));
    [Fact] public void Ttl_three_seconds_gives_three_ticks() => Assert.Equal([1, 2, 3], Run("@every 1s", null, null, "3s"));
    [Fact] public void Repeats_two_gives_two_ticks() => Assert.Equal([1, 2], Run("@every 1s", 2, null, null));
    [Fact] public void Due_time_is_the_first_tick_and_counts_as_a_repeat() => Assert.Equal([0, 60, 120], Run("@every 1m", 3, "0s", null));
    [Fact] public void Ttl_from_due_time() => Assert.Equal([10, 11, 12], Run("@every 1s", null, "10s", "2s"));
    [Fact] public void Cron_starts_at_next_match_after_creation() => Assert.Equal([3600, 7200], Run("@hourly", 2, null, null));
    [Fact] public void First_tick_after_expiry_means_no_ticks() => Assert.Empty(Run("@daily", null, null, "1h"));
    [Fact] public void Unlimited_keeps_going() => Assert.Equal(100, Run("@every 1ms", null, null, null).Count);

    [Fact]
    public void Missed_ticks_are_replayed_from_the_last_scheduled_tick()
    {
        // Down for 10 s after tick 2: the next tick is still created+3s (in the past), then 4s, ... back-to-back.
        var t = JobTiming.Resolve(new JobTimingSpec("@every 1s", 5, null, null), Created);
        var next = TickCalculator.Next(t.Schedule, 5, t.Created.UtcTicks, TickCalculator.None, long.MaxValue, 2, Created.AddSeconds(2).UtcTicks);
        Assert.Equal(Created.AddSeconds(3).UtcTicks, next);
    }
}
