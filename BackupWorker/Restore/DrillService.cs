using System.Diagnostics;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Restore;

/// <summary>
/// Restore drills: a backup restored into scratch (a temp file under the restore root, or a scratch PostgreSQL
/// database) and compared with the manifest recorded when it was taken. A failed drill marks the backup not
/// restorable. A schedule with a drill policy drills every Nth successful backup right after taking it.
/// </summary>
public sealed class DrillService(
    RestoreCatalog restores,
    RestoreService restoreService,
    DatabaseManifests manifests,
    IOptions<BackupOptions> options,
    BackupTelemetry telemetry,
    TimeProvider time,
    ILogger<DrillService> logger)
{
    /// <summary>What the backup file holds, read right after it was verified; null (logged) when it cannot be read.</summary>
    public async Task<DatabaseManifest?> CaptureManifestAsync(string provider, string backupFile, CancellationToken cancellationToken)
    {
        try
        {
            return provider switch
            {
                "sqlite" => DatabaseManifests.ReadSqlite(backupFile),
                "postgres" => await manifests.ReadPostgresDumpAsync(backupFile, cancellationToken),
                _ => null,
            };
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.ManifestFailed(backupFile, e.Message);
            return null;
        }
    }

    /// <summary>After a successful backup: keep its manifest, and drill it when the schedule's policy says this is the Nth. Never throws.</summary>
    public async Task AfterBackupAsync(BackupRun run, DatabaseManifest? manifest, CancellationToken cancellationToken)
    {
        try
        {
            if (manifest is not null) restores.SaveManifest(run.Id, manifest);
            if (restores.GetDrillEvery(run.Schedule, run.ScheduleInstance) is not { } every) return;
            if (restores.CountSucceeded(run.Schedule, run.ScheduleInstance) % every != 0) return;
            await DrillAsync(run, $"every {every}", cancellationToken);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.ManifestFailed(run.File ?? run.Id, e.Message);
        }
        catch (OperationCanceledException) { } // The run's time is up; the backup itself stands.
    }

    /// <summary>Restores the backup into scratch, compares it with its manifest, records the drill, and removes the scratch copy.</summary>
    public async Task<DrillRecord> DrillAsync(BackupRun backup, string trigger, CancellationToken cancellationToken, string? id = null)
    {
        var started = time.GetUtcNow();
        var drill = new DrillRecord(id ?? Guid.NewGuid().ToString("N"), backup.Id, backup.Schedule, backup.Database, trigger, started, null, DrillOutcome.Running, null, null, null);
        restores.UpsertDrill(drill);
        using var activity = BackupTelemetry.Source.StartActivity("drill " + backup.Database);
        activity?.SetTag("backup.drill_id", drill.Id);
        activity?.SetTag("backup.run_id", backup.Id);
        activity?.SetTag("backup.schedule", backup.Schedule);
        activity?.SetTag("db.name", backup.Database);
        // On the injected clock, as a backup run's time limit is.
        using var timeLimit = new CancellationTokenSource(options.Value.RestoreTimeout, time);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeLimit.Token);
        try
        {
            var expected = restores.GetManifest(backup.Id);
            drill = drill with { Expected = expected };
            if (expected is null) throw new RestoreProblemException(422, "No manifest", "Nothing was recorded about this backup's contents when it was taken; there is nothing to compare a restore with.");
            var (provider, database) = restoreService.ConfiguredDatabase(backup);
            await SqliteRestoreFiles.VerifyChecksumAsync(backup, timeout.Token);
            var actual = provider == "sqlite"
                ? await RestoreSqliteScratchAsync(backup, drill.Id, timeout.Token)
                : await RestorePostgresScratchAsync(backup, PostgresServerAddress.From(database.ConnectionString, backup.Database), drill.Id, timeout.Token);
            drill = drill with { Actual = actual };
            if (expected.Differences(actual) is { Count: > 0 } differences)
                throw new RestoreProblemException(422, "Drill found differences", "The restored copy differs from what the backup recorded: " + string.Join("; ", differences));
            drill = drill with { EndedAt = time.GetUtcNow(), Outcome = DrillOutcome.Succeeded };
            restores.UpsertDrill(drill);
            logger.DrillSucceeded(drill.Id, backup.Id, backup.Schedule, backup.Database, actual.Tables.Count);
            telemetry.Drills.Add(1, new("outcome", "succeeded"), new("db.name", backup.Database));
            return drill;
        }
        catch (Exception e)
        {
            var cancelled = e is OperationCanceledException;
            var error = cancelled ? $"The drill was cancelled or exceeded its time limit ({options.Value.RestoreTimeout}); it proves nothing about the backup." : e.Message;
            drill = drill with { EndedAt = time.GetUtcNow(), Outcome = cancelled ? DrillOutcome.Cancelled : DrillOutcome.Failed, Error = error };
            restores.UpsertDrill(drill);
            activity?.SetStatus(ActivityStatusCode.Error, error);
            if (cancelled) logger.DrillCancelled(drill.Id, backup.Id, error);
            else logger.DrillFailed(drill.Id, backup.Id, backup.Schedule, backup.Database, error);
            telemetry.Drills.Add(1, new("outcome", cancelled ? "cancelled" : "failed"), new("db.name", backup.Database));
            return drill;
        }
    }

    private async Task<DatabaseManifest> RestoreSqliteScratchAsync(BackupRun backup, string drillId, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(restoreService.RestoreRoot, "drills");
        restoreService.CreateDirectories(directory);
        var scratch = Path.Combine(directory, $".drill-{drillId[..12]}.db{BackupFiles.PartialSuffix}");
        try
        {
            await SqliteRestoreFiles.CopyVerifiedAsync(backup, scratch, cancellationToken);
            await restoreService.Sqlite.VerifyAsync(scratch, cancellationToken);
            return DatabaseManifests.ReadSqlite(scratch);
        }
        finally
        {
            SqliteRestoreFiles.TryDelete(scratch);
        }
    }

    private async Task<DatabaseManifest> RestorePostgresScratchAsync(BackupRun backup, PostgresServerAddress server, string drillId, CancellationToken cancellationToken)
    {
        var scratch = $"drill_{drillId[..12]}";
        var tools = restoreService.Postgres;
        await tools.SqlAsync(server, $"CREATE DATABASE \"{scratch}\" TEMPLATE template0", cancellationToken);
        try
        {
            if (await tools.RestoreAsync(server, backup.File!, scratch, cancellationToken) is { } error)
                throw new RestoreProblemException(422, "Dump could not be restored", error);
            return await manifests.ReadPostgresDatabaseAsync(server, scratch, cancellationToken);
        }
        finally
        {
            await RestoreService.DropQuietlyAsync(tools, server, scratch);
        }
    }
}
