using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Backups;

/// <summary>
/// Every <see cref="BackupOptions.ReconcileInterval"/>, ends what a worker replica that died left running in the shared
/// catalog, as each worker does at its start (<see cref="CatalogReconciler"/>, with others alive): its backup runs,
/// whose schedule lock died with it, and its restores and drills once past their time limit. Without this they would
/// stay running until some worker starts again, and a drill left running holds back its backup's drill retries.
/// Work of a live process is never touched: its run holds its schedule's lock, and its restore or drill is within its limit.
/// </summary>
public sealed class CatalogReconcileService(CatalogReconciler reconciler, IOptions<BackupOptions> options, TimeProvider time,
    ILogger<CatalogReconcileService> logger) : BackgroundService
{
    protected override Task ExecuteAsync(CancellationToken stoppingToken) =>
        options.Value.ReconcileInterval <= TimeSpan.Zero ? Task.CompletedTask
        : RetryPasses.RunAsync(() => options.Value.ReconcileInterval, ReconcileAsync, logger.ReconcilePassFailed, time, stoppingToken);

    /// <summary>One pass.</summary>
    public Task ReconcileAsync(CancellationToken cancellationToken)
    {
        reconciler.Reconcile(alone: false);
        return Task.CompletedTask;
    }
}
