using BackupWorker.Backups;
using Shared;

namespace BackupWorker.Restore;

/// <summary>One restore drill: the backup restored into scratch and compared with what was recorded at backup time.</summary>
public sealed record DrillRecord(
    string Id, string BackupId, string Schedule, string Database, string Trigger, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    DrillOutcome Outcome, string? Error, DatabaseManifest? Expected, DatabaseManifest? Actual)
{
    /// <summary>The repository whose copy was drilled: <c>local</c> or an object repository's name. Each copy has its own verdict.</summary>
    public string Repository { get; init; } = RepositoryListRules.Local;
}
