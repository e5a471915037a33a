namespace Platform.Scheduler.Schedules;

/// <summary>A recurring schedule: the next trigger instant strictly after a given instant.</summary>
public interface ISchedule
{
    /// <summary>The next instant after <paramref name="after"/>, or null when there is none (within the search horizon).</summary>
    DateTimeOffset? Next(DateTimeOffset after);
}

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
