using BackupWorker.Backups;
using BackupWorker.Hosting;
using Shared;

namespace BackupWorker.Restore;

/// <summary>
/// PostgreSQL restores: pg_restore into a new database, swapped into place only once it succeeded; a replaced database
/// is kept under <c>&lt;name&gt;__before_&lt;id&gt;</c>. A target with sessions is refused unless they may be ended.
/// </summary>
internal sealed class PostgresRestoreProvider(RestoreService service, PostgresTools postgres, DatabaseManifests manifests) : IRestoreProvider
{
    public string Provider => "postgres";

    public Task<DatabaseManifest> ReadBackupManifestAsync(string backupFile, CancellationToken cancellationToken) =>
        manifests.ReadPostgresDumpAsync(backupFile, cancellationToken);

    /// <summary>A drill restores into a scratch database <c>drill_&lt;id&gt;</c> on the source's server, dropped afterwards.</summary>
    public async Task<DatabaseManifest> RestoreScratchAsync(BackupRun backup, DatabaseOptions database, string drillId, CancellationToken cancellationToken)
    {
        var server = PostgresServerAddress.From(database.ConnectionString, backup.Database);
        var scratch = $"drill_{drillId[..12]}";
        var tools = postgres;
        await tools.SqlAsync(server, $"CREATE DATABASE \"{scratch}\" TEMPLATE template0", cancellationToken);
        try
        {
            if (await tools.RestoreAsync(server, backup.File!, scratch, cancellationToken) is { } error)
            {
                // The dump is bad only if it does not read back on its own, or restores wrongly into a server that is
                // up; a server that went away or ran out of space mid-restore says nothing about the dump.
                await DumpReadsBackAsync(tools, backup.File!, cancellationToken);
                await tools.SqlAsync(server, "SELECT 1", cancellationToken);
                if (PostgresInfrastructureError.Matches(error)) throw new PostgresUnavailableException(error);
                throw new DrillContentException($"The dump could not be restored into an empty database: {error}");
            }
            return await manifests.ReadPostgresDatabaseAsync(server, scratch, cancellationToken);
        }
        finally
        {
            await RestoreService.DropQuietlyAsync(tools, server, scratch);
        }
    }

    private static async Task DumpReadsBackAsync(PostgresTools tools, string dumpFile, CancellationToken cancellationToken)
    {
        try
        {
            await tools.ReadDumpAsync(dumpFile, _ => { }, cancellationToken);
        }
        catch (PostgresSqlException e)
        {
            throw new DrillContentException(e.Message, e);
        }
    }

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
