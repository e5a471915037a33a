using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Backups;

/// <summary>
/// Tries again, with exponential back-off (<see cref="BackupOptions.CopyRetryInitialDelay"/> doubling up to
/// <see cref="BackupOptions.CopyRetryMaxDelay"/>), every copy into an object repository that has not been verified:
/// storage that was down, slow, throttled or refused the credentials, or a copy that read back wrong. Until one
/// attempt is verified the backup shows the copy pending with its error and next attempt, and its local copy is kept.
/// </summary>
public sealed class CopyRetryService(
    RepositoryCopier copier,
    BackupCatalog catalog,
    IOptions<BackupOptions> options,
    TimeProvider time,
    ILogger<CopyRetryService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        RetryPasses.RunAsync(() => options.Value.CopyRetryPollInterval, RetryDueAsync, logger.CopyRetryPassFailed, time, stoppingToken);

    /// <summary>One pass: one attempt at each copy whose next attempt is due. Returns the copies as they stand after.</summary>
    public async Task<IReadOnlyList<RepositoryCopy>> RetryDueAsync(CancellationToken cancellationToken)
    {
        var made = new List<RepositoryCopy>();
        foreach (var (runId, due) in copier.Copies.ListDue(time.GetUtcNow()))
        {
            // A run still running (or never recorded) has not handed its backup over yet.
            if (catalog.GetRun(runId) is not { Outcome: RunOutcome.Succeeded } run) continue;
            if (await copier.CopyAsync(run, due.Repository, cancellationToken) is { } copy) made.Add(copy);
        }
        return made;
    }
}
