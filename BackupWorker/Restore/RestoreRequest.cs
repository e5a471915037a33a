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
