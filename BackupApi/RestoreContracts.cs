namespace BackupApi;

// The operator-facing restore contract, matching what BackupWorker answers (the apps share no assembly on purpose).

/// <summary>
/// What to restore and where. Name exactly one of <c>backupId</c>, <c>schedule</c> (its newest restorable backup) or
/// <c>database</c> (its newest restorable backup).
/// <c>target</c>: SQLite, a relative file path under the worker's restore root (default: a new file there; with
/// <c>replace: true</c> and no target, the configured database itself); PostgreSQL, a database name on the source's
/// server (default: a new scratch database). An existing target is replaced only with <c>replace: true</c>, after a
/// safety copy. <c>create</c>: PostgreSQL, create the named target database if it does not exist.
/// <c>requestedBy</c>: an optional label recorded beside the authenticated caller (e.g. a ticket number).
/// <c>terminateConnections</c>: PostgreSQL replace, end the sessions connected to the target database (without it,
/// open sessions make the restore a 409 and nothing is touched).
/// <c>repository</c>: where to read the backup from (<c>local</c> or an object repository the worker has); without it,
/// the nearest good copy: the local one if present and not found bad, else the first verified object-repository copy.
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

/// <summary>One restore. <c>outcome</c>: Running, Succeeded or Failed; <c>safetyCopy</c>: where a replaced target was kept.</summary>
public sealed record RestoreRecord(
    string Id, string BackupId, string Schedule, string Database, string Provider, string Target, bool Replace,
    string? SafetyCopy, string RequestedBy, DateTimeOffset StartedAt, DateTimeOffset? EndedAt, string Outcome, string? Error)
{
    /// <summary>The repository the backup was read from.</summary>
    public string? Repository { get; init; }
}

public sealed record TableRows(string Name, long Rows);

/// <summary>What a backup held when it was taken: its tables with row counts, and a hash of its schema.</summary>
public sealed record DatabaseManifest(string SchemaHash, List<TableRows> Tables);

/// <summary>A restore drill: the backup restored into scratch and compared with its manifest. <c>outcome</c>: Running, Succeeded or Failed.</summary>
public sealed record DrillRecord(
    string Id, string BackupId, string Schedule, string Database, string Trigger, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    string Outcome, string? Error, DatabaseManifest? Expected, DatabaseManifest? Actual)
{
    /// <summary>The repository whose copy was drilled; each copy has its own verdict.</summary>
    public string? Repository { get; init; }
}

/// <summary>Drill every <c>every</c>th successful backup of the schedule (1-10000); null stops drills.</summary>
public sealed record DrillPolicyRequest(int? Every);

public sealed record DrillPolicy(string Schedule, int? Every);

/// <summary>A backup, what it recorded, and whether it may be restored (false once a drill of it failed).</summary>
public sealed record BackupDetails(BackupRun Backup, DatabaseManifest? Manifest, bool Restorable, DrillRecord? LastDrill);
