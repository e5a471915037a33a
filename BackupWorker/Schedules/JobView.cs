namespace BackupWorker.Schedules;

/// <summary>The job as the sidecar reports it now (null when it no longer exists, e.g. its repeats are done).</summary>
public sealed record JobView(string? Schedule, string? DueTime, string? Ttl, int? Repeats, string? FailurePolicy);
