using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;
using Platform.Jobs;
using Platform.Jobs.Models;
using Shared;

namespace BackupWorker.Demo;

/// <summary>
/// The how-to's scenario: on start, if the job <c>prod-db-backup</c> does not exist, schedule it with the how-to's
/// payload. The sidecar may start after the worker, so unreachable-sidecar errors are retried with a bounded backoff.
/// </summary>
public sealed class DemoJobScheduler(
    IOptions<DemoOptions> options,
    DaprJobsClient jobs,
    BackupCatalog catalog,
    TimeProvider time,
    ILogger<DemoJobScheduler> logger,
    Restore.RestoreCatalog? restores = null,
    IOptions<BackupOptions>? backupOptions = null,
    Repositories.IBackupRepositories? repositories = null) : BackgroundService
{
    private static readonly TimeSpan MaxDelay = TimeSpan.FromSeconds(10);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var demo = options.Value;
        if (!demo.Enabled) return;
        var deadline = time.GetUtcNow() + demo.SidecarWait;
        var delay = TimeSpan.FromMilliseconds(250);
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await EnsureJobAsync(demo, stoppingToken);
                return;
            }
            catch (DaprJobsException e) when (!stoppingToken.IsCancellationRequested)
            {
                if (time.GetUtcNow() + delay > deadline)
                {
                    logger.DemoJobGaveUp(demo.JobName, attempt, e.Detail ?? e.Message);
                    return;
                }
                logger.DemoJobRetry(attempt, delay.TotalSeconds, e.Detail ?? e.Message);
                await Task.Delay(delay, time, stoppingToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, MaxDelay.Ticks));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    private async Task EnsureJobAsync(DemoOptions demo, CancellationToken cancellationToken)
    {
        try
        {
            await jobs.GetJobAsync(demo.JobName, cancellationToken);
            logger.DemoJobExists(demo.JobName);
            return;
        }
        catch (DaprJobsException e) when (e.IsJobNotFound)
        {
        }

        var record = catalog.UpsertSchedule(new ScheduleRecord(demo.JobName, demo.Database, demo.BackupLocation, demo.Schedule, demo.Repeats > 0 ? demo.Repeats : null, null, null,
            new RetentionRule(demo.KeepLast, null), time.GetUtcNow())
        {
            // Every configured repository: with the AppHost's offsite flag the demo's backups go offsite too.
            Repositories = [RepositoryListRules.Local, .. repositories?.Names ?? []],
        });
        restores?.SetDrillPolicy(demo.JobName, record.Instance, demo.DrillEvery);
        try
        {
            var schedule = DaprJobSchedule.FromExpression(demo.Schedule);
            var policy = Schedules.ScheduleService.FailurePolicyFor(backupOptions?.Value ?? new BackupOptions(), schedule.IsPointInTimeExpression || demo.Repeats == 1);
            await jobs.ScheduleJobAsync(demo.JobName, schedule, BackupPayload.ForDatabase(demo.Database, demo.BackupLocation).ToUtf8Json(),
                repeats: demo.Repeats > 0 ? demo.Repeats : null, failurePolicyOptions: policy, cancellationToken: cancellationToken);
            catalog.ConfirmJob(demo.JobName, record.Instance!);
            logger.Scheduled(demo.JobName, demo.Database, demo.BackupLocation, demo.Schedule);
        }
        catch (DaprJobsException e) when (e.IsAlreadyExists)
        {
            // Another replica of this app id scheduled it between our Get and Schedule: the job exists, which is the goal.
            catalog.ConfirmJob(demo.JobName, record.Instance!);
            logger.DemoJobExists(demo.JobName);
        }
    }
}
