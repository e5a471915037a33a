namespace Platform.Scheduler.Schedules;

/// <summary>What a caller submitted for a job's timing (strings kept verbatim, presence matters).</summary>
public sealed record JobTimingSpec(string? Schedule, uint? Repeats, string? DueTime, string? Ttl);
