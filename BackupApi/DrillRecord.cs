namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

/// <summary>A restore drill: the backup restored into scratch and compared with its manifest. <c>outcome</c>: Running, Succeeded or Failed.</summary>
public sealed record DrillRecord(
    string Id, string BackupId, string Schedule, string Database, string Trigger, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    string Outcome, string? Error, DatabaseManifest? Expected, DatabaseManifest? Actual)
{
    /// <summary>The repository whose copy was drilled; each copy has its own verdict.</summary>
    public string? Repository { get; init; }
}
