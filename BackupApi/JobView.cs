namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

/// <summary>The job as the worker's sidecar reports it now; null once it no longer exists (e.g. its repeats are done).</summary>
public sealed record JobView(string? Schedule, string? DueTime, string? Ttl, int? Repeats, string? FailurePolicy);
