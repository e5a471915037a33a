using BackupWorker.Backups;
using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>Into a new database first, swapped into place only once pg_restore has succeeded.</summary>
internal sealed class PostgresRestorePlan(
    RestoreService service, BackupRun backup, PostgresServerAddress server, string target, string? safetyCopy, bool terminateConnections, string id) : IRestorePlan
{
    public string Target => target;

    public bool OverwritesSource => target == server.Database;

    public string? SafetyCopy => safetyCopy;

    public async Task<string?> ExecuteAsync(BackupRun source, CancellationToken cancellationToken)
    {
        await SqliteRestoreFiles.VerifyChecksumAsync(source, cancellationToken);
        // Into a new database first, swapped into place only once pg_restore has succeeded: the target never holds half a restore.
        var temp = $"{target}__restoring_{id[..8]}";
        var tools = service.Postgres;
        var swapBegun = false;
        try
        {
            // With the target's encoding and locale when there is one, so its data reads back the same.
            if (safetyCopy is null) await tools.SqlAsync(server, $"CREATE DATABASE \"{temp}\" TEMPLATE template0", cancellationToken);
            else await PostgresDatabaseProperties.CreateLikeAsync(tools, server, target, temp, cancellationToken);
            if (await tools.RestoreAsync(server, source.File!, temp, cancellationToken) is { } error)
                throw new RestoreProblemException(422, "Dump could not be restored", $"Backup {backup.Id} could not be restored: {error}");
            if (safetyCopy is not null) await PostgresDatabaseProperties.CarryOverAsync(tools, server, target, temp, cancellationToken);
            var swap = new PostgresSwap(tools, server, target, temp, safetyCopy, terminateConnections, id);
            await swap.PrepareAsync(cancellationToken);
            if (tools.BeforeSwap is { } beforeSwap) await beforeSwap(temp, cancellationToken);
            // From here the restored database is never dropped: the swap may have happened even when it reports otherwise.
            swapBegun = true;
            return await swap.RunAsync(cancellationToken);
        }
        finally
        {
            if (!swapBegun) await RestoreService.DropQuietlyAsync(tools, server, temp);
        }
    }
}
