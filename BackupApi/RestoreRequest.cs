namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

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
