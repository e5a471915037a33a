namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

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
