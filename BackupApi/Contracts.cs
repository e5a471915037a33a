namespace BackupApi;

// The operator-facing contract. It matches what BackupWorker answers over service invocation; the two apps share no
// assembly on purpose (they deploy and version separately), so these records are the API's own.

/// <summary>
/// A backup schedule to create.
/// <c>schedule</c>: any form Dapr accepts (6-field cron with seconds, <c>@every 1h30m</c>, <c>@daily</c>, an RFC 3339 time).
/// <c>dueTime</c>/<c>ttl</c>: an RFC 3339 time or a duration from now (<c>10s</c>, <c>1h30m</c>, <c>PT10M</c>).
/// <c>location</c>: a relative path under the worker's backup root (e.g. <c>nightly</c>; default
/// <c>&lt;database&gt;</c>); absolute paths, <c>..</c> and other escapes are refused.
/// <c>repositories</c>: where each backup must be verified before it counts as made: <c>"local"</c> (always; the backup
/// is taken there first and kept until copied) and object repositories configured in the worker, e.g.
/// <c>["local", "offsite"]</c> (default <c>["local"]</c>); an unknown name is refused (400).
/// </summary>
public sealed record CreateScheduleRequest(
    string? Name,
    string? Database,
    string? Location,
    string? Schedule,
    int? Repeats = null,
    string? DueTime = null,
    string? Ttl = null,
    RetentionRequest? Retention = null,
    bool Overwrite = false,
    IReadOnlyList<string?>? Repositories = null);

/// <summary>
/// Keep the newest <c>keepLast</c> backups and/or none older than <c>maxAge</c> (<c>168h</c>, <c>P7D</c>, <c>7.00:00:00</c>),
/// but never fewer than <c>minimumRedundancy</c> restorable ones (1-1000, default 1), and never the database's newest
/// restorable backup.
/// </summary>
public sealed record RetentionRequest(int? KeepLast, string? MaxAge, int? MinimumRedundancy = null)
{
    public const int MaxMinimumRedundancy = 1000;
}

public sealed record RetentionView(int? KeepLast, string? MaxAge, int? MinimumRedundancy);

/// <summary>The job as the worker's sidecar reports it now; null once it no longer exists (e.g. its repeats are done).</summary>
public sealed record JobView(string? Schedule, string? DueTime, string? Ttl, int? Repeats, string? FailurePolicy);

public sealed record ScheduleView(
    string Name,
    string Database,
    string Location,
    string? Schedule,
    int? Repeats,
    string? DueTime,
    string? Ttl,
    RetentionView Retention,
    DateTimeOffset? CreatedAt,
    bool Active,
    JobView? Job,
    IReadOnlyList<BackupRun>? Runs = null)
{
    /// <summary>This lifetime of the schedule: every create and overwrite starts a new one, and retention stays within it.</summary>
    public string? Instance { get; init; }

    /// <summary>Set once the schedule's job was found gone (deleted elsewhere, repeats or TTL done): it governs nothing since.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    public string? EndedReason { get; init; }

    /// <summary>Where each backup must be verified before it counts as made (<c>local</c> first); null for a job made elsewhere.</summary>
    public IReadOnlyList<string>? Repositories { get; init; }
}

/// <summary>
/// One backup attempt. <c>outcome</c>: Running, Succeeded or Failed; <c>prunedAt</c> set once retention removed its local
/// file. <c>copies</c>: where a succeeded backup is, per repository; <c>complete</c>: verified in every repository its
/// schedule names (only then does it count as made there).
/// </summary>
public sealed record BackupRun(
    string Id, string Schedule, string Database, string Trigger, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    long? Bytes, string? Checksum, string? File, string Outcome, string? Error, DateTimeOffset? PrunedAt)
{
    public IReadOnlyList<RepositoryCopy>? Copies { get; init; }

    public bool? Complete { get; init; }
}

/// <summary>
/// A backup in one repository. <c>state</c>: Pending (not there yet: <c>error</c> says why, <c>nextAttemptAt</c> when it
/// is tried again; the local copy is kept meanwhile), Copied (uploaded, not yet read back), Verified (read back end to
/// end: restorable from there), Failed (will not be copied: <c>error</c>), Pruned (removed by that repository's retention).
/// </summary>
public sealed record RepositoryCopy(
    string Repository, string State, string? Key, long? StoredBytes, string? Compression, bool? Encrypted,
    int Attempts, DateTimeOffset? NextAttemptAt, string? Error, DateTimeOffset? VerifiedAt, DateTimeOffset UpdatedAt);
