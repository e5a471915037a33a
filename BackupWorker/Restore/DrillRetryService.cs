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
    /// <summary>How long after the <paramref name="attempts"/>th inconclusive drill in a row the next one is due.</summary>
    public static TimeSpan Backoff(int attempts, TimeSpan initial, TimeSpan max)
    {
        var factor = Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        return TimeSpan.FromTicks((long)Math.Min(initial.Ticks * factor, max.Ticks));
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(options.Value.DrillRetryPollInterval, time, stoppingToken);
                await RetryDueAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
            {
                logger.DrillRetryPassFailed(e.Message);
            }
        }
    }

    /// <summary>One pass: drills each backup whose back-off has run out. Returns the drills made.</summary>
    public async Task<IReadOnlyList<DrillRecord>> RetryDueAsync(CancellationToken cancellationToken)
    {
        var made = new List<DrillRecord>();
        var now = time.GetUtcNow();
        foreach (var (backupId, attempts, lastEnded) in restores.ListInconclusiveDrills())
        {
            if (now < lastEnded + Backoff(attempts, options.Value.DrillRetryInitialDelay, options.Value.DrillRetryMaxDelay)) continue;
            if (catalog.GetRun(backupId) is not { Outcome: RunOutcome.Succeeded, PrunedAt: null } backup) continue;
            logger.DrillRetry(backupId, attempts + 1);
            made.Add(await drills.DrillAsync(backup, "retry", cancellationToken));
        }
        return made;
    }
}
