using BackupWorker.Backups;

namespace BackupWorker.Schedules;

/// <summary>
/// A backup schedule to create: <see cref="Schedule"/> in any form Dapr accepts, or only a <see cref="DueTime"/> for a
/// one-shot. <see cref="Repositories"/>: where each backup must be verified before it counts as made: <c>local</c>
/// (always; the backup is taken there) and configured object repositories (default <c>["local"]</c>).
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
/// Keep the newest <see cref="KeepLast"/> backups and/or none older than <see cref="MaxAge"/> (e.g. <c>168h</c>, <c>P7D</c>,
/// <c>7.00:00:00</c>), but never fewer than <see cref="MinimumRedundancy"/> restorable ones (default 1).
/// </summary>
public sealed record RetentionRequest(int? KeepLast, string? MaxAge, int? MinimumRedundancy = null)
{
    public const int MaxMinimumRedundancy = 1000;
}

public sealed record RetentionView(int? KeepLast, string? MaxAge, int? MinimumRedundancy);

/// <summary>The job as the sidecar reports it now (null when it no longer exists, e.g. its repeats are done).</summary>
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
    /// <summary>This lifetime of the schedule (every create and overwrite starts a new one); null for a job made elsewhere.</summary>
    public string? Instance { get; init; }

    /// <summary>When the schedule was found to have ended (its job gone), and why; it then governs nothing.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    public string? EndedReason { get; init; }

    /// <summary>Where each backup must be verified before it counts as made (<c>local</c> first); null for a job made elsewhere.</summary>
    public IReadOnlyList<string>? Repositories { get; init; }
}
