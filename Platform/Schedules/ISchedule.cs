namespace Platform.Scheduler.Schedules;

/// <summary>A recurring schedule: the next trigger instant strictly after a given instant.</summary>
public interface ISchedule
{
    /// <summary>The next instant after <paramref name="after"/>, or null when there is none (within the search horizon).</summary>
    DateTimeOffset? Next(DateTimeOffset after);
}
