using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage;

/// <summary>How the last attempt of a job ended, as kept with its progress.</summary>
public enum JobResultKind : byte
{
    None = 0,
    Success = 1,
    Failed = 2,
}

/// <summary>A job's progress. <see cref="LastTrigger"/> is the scheduled time (UTC ticks) of the last completed tick, or <see cref="TickCalculator.None"/>.</summary>
public readonly record struct JobProgress(uint Count, long LastTrigger, uint Attempts, JobResultKind LastResult)
{
    public static readonly JobProgress Initial = new(0, TickCalculator.None, 0, JobResultKind.None);
}
