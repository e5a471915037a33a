using BackupWorker.Backups;
using BackupWorker.Hosting;
using Shared;

namespace BackupWorker.Restore;

/// <summary>
/// PostgreSQL restores: pg_restore into a new database, swapped into place only once it succeeded; a replaced database
/// is kept under <c>&lt;name&gt;__before_&lt;id&gt;</c>. A target with sessions is refused unless they may be ended.
/// </summary>
internal sealed class PostgresRestoreProvider(RestoreService service, PostgresTools postgres) : IRestoreProvider
{
    public string Provider => "postgres";

    public async Task<IRestorePlan> PlanAsync(RestoreRequest request, BackupRun backup, DatabaseOptions database, string id, CancellationToken cancellationToken)
    {
        var server = PostgresServerAddress.From(database.ConnectionString, backup.Database);
        var target = request.Target ?? $"{PostgresName(backup.Database)}_restore_{id[..8]}";
        if (RestoreRequestRules.CheckDatabaseTarget(target) is { } error) throw new RestoreProblemException(400, "Invalid restore target", error);
        var exists = await postgres.DatabaseExistsAsync(server, target, cancellationToken);
        if (exists && !request.Replace)
        {
            throw new RestoreProblemException(409, "Target exists", target == server.Database
                ? $"'{target}' is the source database '{backup.Database}'; send replace: true to restore over it (it is kept as a safety copy)."
                : $"The database '{target}' exists; send replace: true to replace it (it is kept as a safety copy).");
        }
        if (!exists && request.Target is not null && !request.Create)
            throw new RestoreProblemException(404, "Target database not found", $"The database '{target}' does not exist; send create: true to create it.");
        // Checked again just before the swap; refused here first so a refusal costs no restore.
        if (exists && !request.TerminateConnections && await PostgresSwap.SessionsAsync(postgres, server, target, cancellationToken) is > 0 and var sessions)
            throw PostgresSwap.InUse(target, sessions);
        return new PostgresRestorePlan(service, backup, server, target, exists ? $"{target}__before_{id[..8]}" : null, request.TerminateConnections, id);
    }

    private static string PostgresName(string database)
    {
        var name = new string(database.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray());
        if (name.Length == 0 || char.IsAsciiDigit(name[0])) name = "db_" + name;
        return name.Length > 22 ? name[..22] : name;
    }
}
