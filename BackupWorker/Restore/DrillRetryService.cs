using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Restore;

/// <summary>
/// Drills again, with exponential back-off, every backup still on disk whose latest drill was inconclusive (it could not
/// run: server down, disk full, timeout): until one is conclusive, the backup keeps its earlier verdict and nobody knows
/// more about it. Worker replicas each run this pass over the shared catalog; each retry is begun by one of them.
/// </summary>
public sealed class DrillRetryService(
    RestoreCatalog restores,
    BackupCatalog catalog,
    DrillService drills,
    IOptions<BackupOptions> options,
    TimeProvider time,
    ILogger<DrillRetryService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        RetryPasses.RunAsync(() => options.Value.DrillRetryPollInterval, RetryDueAsync, logger.DrillRetryPassFailed, time, stoppingToken);

    /// <summary>One pass: drills each backup whose back-off has run out. Returns the drills made.</summary>
    public async Task<IReadOnlyList<DrillRecord>> RetryDueAsync(CancellationToken cancellationToken) =>
        await RetryAsync(ListDue(), cancellationToken);

    /// <summary>The backups whose latest drill was inconclusive and whose back-off has run out, with that drill's id.</summary>
    internal IReadOnlyList<(BackupRun Backup, int Attempts, string LatestId)> ListDue()
    {
        var now = time.GetUtcNow();
        var due = new List<(BackupRun, int, string)>();
        foreach (var (backupId, attempts, lastEnded, latestId) in restores.ListInconclusiveDrills())
        {
            if (now < lastEnded + RetryPasses.Backoff(attempts, options.Value.DrillRetryInitialDelay, options.Value.DrillRetryMaxDelay)) continue;
            if (catalog.GetRun(backupId) is not { Outcome: RunOutcome.Succeeded, PrunedAt: null } backup) continue;
            due.Add((backup, attempts, latestId));
        }
        return due;
    }

    /// <summary>
    /// Drills each of <paramref name="due"/> that no other drill began on since it was listed: a pass takes minutes
    /// when drills do, and a replica's pass over the same catalog may have retried some meanwhile.
    /// </summary>
    internal async Task<IReadOnlyList<DrillRecord>> RetryAsync(IReadOnlyList<(BackupRun Backup, int Attempts, string LatestId)> due,
        CancellationToken cancellationToken)
    {
        var made = new List<DrillRecord>();
        foreach (var (backup, attempts, latestId) in due)
        {
            var id = Guid.NewGuid().ToString("N");
            var running = new DrillRecord(id, backup.Id, backup.Schedule, backup.Database, "retry", time.GetUtcNow(), null, DrillOutcome.Running, null, null, null);
            if (!restores.TryBeginRetryDrill(running, latestId)) continue;
            logger.DrillRetry(backup.Id, attempts + 1);
            made.Add(await drills.DrillAsync(backup, "retry", cancellationToken, id: id));
        }
        return made;
    }
}
