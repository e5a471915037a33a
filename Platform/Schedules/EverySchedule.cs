namespace Platform.Scheduler.Schedules;

/// <summary><c>@every &lt;duration&gt;</c>: simply the previous instant plus the interval (no alignment, no drift correction).</summary>
public sealed class EverySchedule(TimeSpan interval) : ISchedule
{
    public TimeSpan Interval { get; } = interval;

    public DateTimeOffset? Next(DateTimeOffset after)
    {
        try { return after + Interval; }
        catch (ArgumentOutOfRangeException) { return null; }
    }
}
