using BackupWorker.Backups;
using Shared;

namespace BackupWorker.Restore;

/// <summary>One restore (or the restore step of a drill), whatever its outcome.</summary>
public sealed record RestoreRecord(
    string Id, string BackupId, string Schedule, string Database, string Provider, string Target, bool Replace,
    string? SafetyCopy, string RequestedBy, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, RunOutcome Outcome, string? Error)
{
    /// <summary>The repository the backup was read from: <c>local</c> or an object repository's name.</summary>
    public string Repository { get; init; } = RepositoryListRules.Local;
}
