using Shared;
using System.Diagnostics;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Restore;

/// <summary>
/// Restore drills: a backup restored into scratch (a temp file under the restore root, or a scratch PostgreSQL
/// database) and compared with the manifest recorded when it was taken. A drill that finds the content bad marks the
/// backup not restorable until a later drill succeeds; one that could not run is inconclusive and changes nothing.
/// A schedule with a drill policy drills every Nth successful backup right after taking it.
/// </summary>
public sealed class DrillService(
    RestoreCatalog restores,
    RestoreService restoreService,
    IOptions<BackupOptions> options,
    BackupTelemetry telemetry,
    TimeProvider time,
    ILogger<DrillService> logger,
    WorkLimiter? limiter = null) : IVerifiedBackupHook
{
    /// <summary>What the backup file holds, read right after it was verified; null (logged) when it cannot be read.</summary>
    public async Task<DatabaseManifest?> CaptureManifestAsync(string provider, string backupFile, CancellationToken cancellationToken)
    {
        try
        {
            return restoreService.RestorerOf(provider) is { } restorer ? await restorer.ReadBackupManifestAsync(backupFile, cancellationToken) : null;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.ManifestFailed(backupFile, e.Message);
            return null;
        }
    }

    /// <summary>
    /// After a successful backup: keep its manifest, and drill it when the schedule's policy says this is the Nth.
    /// Returns the drill (null when none ran). Never throws.
    /// </summary>
    public async Task<DrillRecord?> AfterBackupAsync(BackupRun run, DatabaseManifest? manifest, CancellationToken cancellationToken)
    {
        try
        {
            if (manifest is not null) restores.SaveManifest(run.Id, manifest);
            if (restores.GetDrillEvery(run.Schedule, run.ScheduleInstance) is not { } every) return null;
            if (restores.CountSucceeded(run.Schedule, run.ScheduleInstance) % every != 0) return null;
            return await DrillAsync(run, $"every {every}", cancellationToken, slotHeld: true);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.ManifestFailed(run.File ?? run.Id, e.Message);
            return null;
        }
        catch (OperationCanceledException) { return null; } // The run's time is up; the backup itself stands.
    }

    async Task<string?> IVerifiedBackupHook.AfterVerifiedBackupAsync(BackupRun run, DatabaseManifest? manifest, CancellationToken cancellationToken) =>
        await AfterBackupAsync(run, manifest, cancellationToken) is { Outcome: not DrillOutcome.Succeeded } drill ? drill.Outcome.ToString() : null;

    /// <summary>The backup's verdict: false only when its latest conclusive drill found its content bad.</summary>
    public bool IsRestorable(string backupId) => restores.IsRestorable(backupId);

    /// <summary>
    /// Restores the backup into scratch, compares it with its manifest, records the drill, and removes the scratch copy.
    /// The outcome is <see cref="DrillOutcome.Failed"/> only for a content failure (<see cref="DrillContentException"/>);
    /// a drill that could not run (server down, disk full, permission, timeout, cancellation, no manifest) is
    /// <see cref="DrillOutcome.Inconclusive"/> and leaves the backup's verdict as it was. A drill takes a slot under the
    /// worker's concurrency limits (it loads the database's server as a backup does), unless its caller holds one.
    /// </summary>
    /// <param name="repository">Whose copy to drill: <c>local</c> (the default) or an object repository's; each copy has its own verdict.</param>
    public async Task<DrillRecord> DrillAsync(BackupRun backup, string trigger, CancellationToken cancellationToken, bool slotHeld = false, string? id = null, string? repository = null)
    {
        var started = time.GetUtcNow();
        var drill = new DrillRecord(id ?? Guid.NewGuid().ToString("N"), backup.Id, backup.Schedule, backup.Database, trigger, started, null, DrillOutcome.Running, null, null, null)
        {
            Repository = repository ?? RepositoryListRules.Local,
        };
        var running = drill;
        using var work = RestoreWorkScope.Start(() => restores.UpsertDrill(running), "drill " + backup.Database,
            options.Value.RestoreTimeout, time, cancellationToken, ("backup.drill_id", drill.Id), ("backup.run_id", backup.Id),
            ("backup.schedule", backup.Schedule), ("db.name", backup.Database), ("backup.repository", drill.Repository));
        var activity = work.Activity;
        try
        {
            var expected = restores.GetManifest(backup.Id);
            drill = drill with { Expected = expected };
            if (expected is null) throw new RestoreProblemException(422, "No manifest", "Nothing was recorded about this backup's contents when it was taken; there is nothing to compare a restore with.");
            var (provider, database) = restoreService.ConfiguredDatabase(backup);
            using var slot = slotHeld || limiter is null ? null
                : await limiter.AcquireAsync(WorkLimiter.ServerOf(database, backup.Database), backup.Database, null, work.Token);
            // A copy in an object repository is downloaded and checked first; a damaged or tampered one is a content
            // failure of that copy, a wrong key or an unreachable repository proves nothing about it.
            StagedBackup staged;
            try
            {
                staged = await restoreService.StageAsync(backup, drill.Repository, drill.Id, work.Token);
            }
            catch (RestoreProblemException e) when (e.InnerException is Repositories.RepositoryContentException)
            {
                throw new DrillContentException(e.Message, e);
            }
            using var source = staged;
            try
            {
                await SqliteRestoreFiles.VerifyChecksumAsync(source.Backup, work.Token);
            }
            catch (RestoreProblemException e)
            {
                throw new DrillContentException(e.Message, e);
            }
            // The provider restores into its own kind of scratch (a temp file, a scratch database), as a restore plans per provider.
            var actual = await restoreService.RestorerOf(provider)!.RestoreScratchAsync(source.Backup, database, drill.Id, work.Token);
            drill = drill with { Actual = actual };
            if (expected.Differences(actual) is { Count: > 0 } differences)
                throw new DrillContentException("The restored copy differs from what the backup recorded: " + string.Join("; ", differences));
            drill = drill with { EndedAt = time.GetUtcNow(), Outcome = DrillOutcome.Succeeded };
            restores.UpsertDrill(drill);
            logger.DrillSucceeded(drill.Id, backup.Id, backup.Schedule, backup.Database, actual.Tables.Count);
            telemetry.Drills.Add(1, new("outcome", "succeeded"), new("db.name", backup.Database));
            return drill;
        }
        catch (DrillContentException e)
        {
            drill = drill with { EndedAt = time.GetUtcNow(), Outcome = DrillOutcome.Failed, Error = e.Message };
            restores.UpsertDrill(drill);
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            logger.DrillFailed(drill.Id, backup.Id, backup.Schedule, backup.Database, e.Message);
            telemetry.Drills.Add(1, new("outcome", "failed"), new("db.name", backup.Database));
            return drill;
        }
        catch (Exception e)
        {
            var error = e is OperationCanceledException
                ? $"The drill was cancelled or exceeded its time limit ({options.Value.RestoreTimeout}); it proves nothing about the backup."
                : $"The drill could not run, which proves nothing about the backup: {e.Message}";
            drill = drill with { EndedAt = time.GetUtcNow(), Outcome = DrillOutcome.Inconclusive, Error = error };
            restores.UpsertDrill(drill);
            activity?.SetStatus(ActivityStatusCode.Error, error);
            logger.DrillInconclusive(drill.Id, backup.Id, error);
            telemetry.Drills.Add(1, new("outcome", "inconclusive"), new("db.name", backup.Database));
            return drill;
        }
    }
}
