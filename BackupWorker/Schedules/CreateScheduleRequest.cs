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
