namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

/// <summary>One restore. <c>outcome</c>: Running, Succeeded or Failed; <c>safetyCopy</c>: where a replaced target was kept.</summary>
public sealed record RestoreRecord(
    string Id, string BackupId, string Schedule, string Database, string Provider, string Target, bool Replace,
    string? SafetyCopy, string RequestedBy, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string Outcome, string? Error)
{
    /// <summary>The repository the backup was read from.</summary>
    public string? Repository { get; init; }
}
