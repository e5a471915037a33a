using BackupWorker.Backups;
using Shared;

namespace BackupWorker.Restore;

/// <summary>
/// What to restore and where. Exactly one of <see cref="BackupId"/>, <see cref="Schedule"/> (its newest restorable
/// backup) or <see cref="Database"/> (its newest restorable backup of any schedule) picks the backup.
/// <see cref="Target"/>: SQLite, a relative file path under the restore root (default: a new file there; with
/// <see cref="Replace"/> and no target, the configured database itself); PostgreSQL, a database name on the source's
/// server (default: a new scratch database). An existing target is only overwritten with <see cref="Replace"/>, after a
/// safety copy. <see cref="Create"/>: PostgreSQL, create the named target database when it does not exist.
/// <see cref="TerminateConnections"/>: PostgreSQL replace, end the sessions connected to the target (otherwise they
/// make the restore a 409). <see cref="Repository"/>: where to read the backup from (<c>local</c> or an object
/// repository); without it, the nearest good copy (the local one if present and not found bad, else the first
/// verified copy in an object repository).
/// </summary>
public sealed record RestoreRequest(
    string? BackupId = null,
    string? Schedule = null,
    string? Database = null,
    string? Target = null,
    bool Replace = false,
    bool Create = false,
    string? RequestedBy = null,
    bool TerminateConnections = false,
    string? Repository = null);

/// <summary>One restore (or the restore step of a drill), whatever its outcome.</summary>
public sealed record RestoreRecord(
    string Id, string BackupId, string Schedule, string Database, string Provider, string Target, bool Replace,
    string? SafetyCopy, string RequestedBy, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, RunOutcome Outcome, string? Error)
{
    /// <summary>The repository the backup was read from: <c>local</c> or an object repository's name.</summary>
    public string Repository { get; init; } = RepositoryListRules.Local;
}

/// <summary>
/// How a drill ended. <see cref="Failed"/>: the backup's content is bad (checksum, integrity, unreadable dump, manifest
/// mismatch), so it is not restorable until a later drill succeeds. <see cref="Inconclusive"/>: the drill could not run
/// (server down, disk full, permission, timeout, cancellation); it proves nothing, changes nothing, and is retried later.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<DrillOutcome>))]
public enum DrillOutcome { Running, Succeeded, Failed, Inconclusive }

/// <summary>One restore drill: the backup restored into scratch and compared with what was recorded at backup time.</summary>
public sealed record DrillRecord(
    string Id, string BackupId, string Schedule, string Database, string Trigger, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    DrillOutcome Outcome, string? Error, DatabaseManifest? Expected, DatabaseManifest? Actual)
{
    /// <summary>The repository whose copy was drilled: <c>local</c> or an object repository's name. Each copy has its own verdict.</summary>
    public string Repository { get; init; } = RepositoryListRules.Local;
}

/// <summary>Drill every <see cref="Every"/>th successful backup of a schedule; null turns drills off.</summary>
public sealed record DrillPolicyRequest(int? Every);

public sealed record DrillPolicy(string Schedule, int? Every);

/// <summary>A backup with what it recorded and whether it may be restored (false while its latest conclusive drill found it bad).</summary>
public sealed record BackupDetails(BackupRun Backup, DatabaseManifest? Manifest, bool Restorable, DrillRecord? LastDrill);

/// <summary>A restore refused or failed, with the HTTP status and text to answer it with (and its record, when there is one).</summary>
public sealed class RestoreProblemException(int status, string title, string detail, RestoreRecord? record = null, IDictionary<string, string[]>? errors = null,
    Exception? inner = null)
    : Exception(detail, inner)
{
    public int Status { get; } = status;
    public string Title { get; } = title;
    public RestoreRecord? Record { get; } = record;
    public IDictionary<string, string[]>? Errors { get; } = errors;

    public RestoreProblemException WithRecord(RestoreRecord record) => new(Status, Title, Message, record, Errors, InnerException);
}
