using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Restore;

/// <summary>
/// Drills again, with exponential back-off, every backup still on disk whose latest drill was inconclusive (it could not
/// run: server down, disk full, timeout): until one is conclusive, the backup keeps its earlier verdict and nobody knows
/// more about it.
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
    public async Task<IReadOnlyList<DrillRecord>> RetryDueAsync(CancellationToken cancellationToken)
    {
        var made = new List<DrillRecord>();
        var now = time.GetUtcNow();
        foreach (var (backupId, attempts, lastEnded) in restores.ListInconclusiveDrills())
        {
            if (now < lastEnded + RetryPasses.Backoff(attempts, options.Value.DrillRetryInitialDelay, options.Value.DrillRetryMaxDelay)) continue;
            if (catalog.GetRun(backupId) is not { Outcome: RunOutcome.Succeeded, PrunedAt: null } backup) continue;
            logger.DrillRetry(backupId, attempts + 1);
            made.Add(await drills.DrillAsync(backup, "retry", cancellationToken));
        }
        return made;
    }
}
