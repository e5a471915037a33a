using Shared;
using System.Diagnostics;
using System.Security.Cryptography;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Backups;

/// <summary>
/// Performs one backup run: resolve the database and the location (under the backup root), write the copy to a
/// private temp file beside its final name, verify it, checksum it, fsync it, rename it and its checksum file into
/// place, fsync the directory, record it in the catalog, then apply the schedule's retention.
/// One run of a schedule at a time (<see cref="ScheduleBusyException"/> for a second); for a schedule in the catalog,
/// the catalog's database and location are used whatever the caller asked for.
/// </summary>
public sealed class BackupRunner(
    BackupCatalog catalog,
    BackupPaths paths,
    IOptions<BackupOptions> options,
    IEnumerable<IDatabaseBackupProvider> providers,
    BackupTelemetry telemetry,
    TimeProvider time,
    ILogger<BackupRunner> logger,
    IVerifiedBackupHook? verified = null,
    WorkLimiter? limiter = null,
    RepositoryCopier? copier = null)
{
    public const string ChecksumExtension = ".sha256";

    private readonly RetentionPruner _retention = new(catalog, paths, telemetry, time, logger, verified, copier?.Copies);

    /// <summary>Whether <paramref name="name"/> names a repository a schedule can use: <c>local</c> or a configured object repository.</summary>
    public bool IsKnownRepository(string name) =>
        string.Equals(name, RepositoryListRules.Local, StringComparison.OrdinalIgnoreCase) || (copier?.IsConfigured(name) ?? false);

    public IEnumerable<string> KnownRepositories => ((IEnumerable<string>)[RepositoryListRules.Local]).Concat(copier?.ConfiguredNames ?? []);

    /// <summary>Writes the checksum temp file (path, content); replaceable by tests to make that write fail.</summary>
    internal Func<string, string, CancellationToken, Task> ChecksumWriter { get; set; } = BackupFiles.WritePrivateAsync;

    /// <summary>Null when the worker would write backups to <paramref name="location"/>, else why not.</summary>
    public string? CheckLocation(string location)
    {
        try
        {
            paths.ResolveLocation(location);
            return null;
        }
        catch (BackupLocationException e)
        {
            return e.Message;
        }
    }

    /// <summary>
    /// How often a trigger looks for its schedule's turn while another run holds the lock. The lock may be held by
    /// another worker process (a file lock, which offers nothing to await), so the turn is looked for.
    /// </summary>
    internal static readonly TimeSpan TurnPollInterval = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// Answers one job trigger received at <paramref name="receivedAt"/>: waits for the schedule's turn, then either
    /// coalesces it (<see cref="TriggerResult.Coalesced"/>: a succeeded run of the same schedule instance started after
    /// the trigger's scheduled time, so a backup for it exists already) or runs the backup. A trigger's scheduled time
    /// is not sent with it; it lies before its arrival, and when the schedule has no tick between the covering run's
    /// start and the arrival it lies before that run's start too. So a burst of overdue triggers (Dapr replays missed
    /// ticks back-to-back) becomes one backup, and a redelivered trigger whose backup was taken is not taken again.
    /// </summary>
    public Task<TriggerResult> RunTriggerAsync(string schedule, BackupMetadata requested, DateTimeOffset receivedAt, CancellationToken cancellationToken) =>
        RunTriggerAsync(schedule, requested, receivedAt, tick: null, cancellationToken);

    /// <summary>
    /// As above, which is all real Dapr allows. With a <paramref name="tick"/> (our sidecar sends the scheduled time)
    /// the tick decides: under the schedule's run lock the tick is claimed in <see cref="TriggerTickCatalog"/>; a
    /// delivery of a tick whose run succeeded is answered with that run (a redelivery, however late), a tick whose run
    /// failed is a new attempt, and a tick another delivery holds is waited for (its run may still fail, and then this
    /// one must run it). A succeeded run that started after the tick covers it too (an overdue burst is one backup).
    /// </summary>
    public async Task<TriggerResult> RunTriggerAsync(string schedule, BackupMetadata requested, DateTimeOffset receivedAt, TriggerTick? tick, CancellationToken cancellationToken)
    {
        if (tick is not null) return await RunTickAsync(schedule, requested, receivedAt, tick, cancellationToken);
        while (true)
        {
            using (var turn = ScheduleRunLock.TryAcquire(paths, schedule))
            {
                if (turn is not null && CoveringRun(schedule, receivedAt) is { } covering)
                {
                    logger.TriggerCoalesced(schedule, receivedAt, covering.Id, covering.StartedAt);
                    telemetry.Coalesced.Add(1, new KeyValuePair<string, object?>("db.name", covering.Database));
                    return new TriggerResult(covering, Coalesced: true);
                }
            }
            try
            {
                return new TriggerResult(await RunAsync(schedule, requested, "job", cancellationToken), Coalesced: false);
            }
            catch (ScheduleBusyException)
            {
                await Task.Delay(TurnPollInterval, cancellationToken); // wall-clock: it waits on another process, not on schedule time
            }
        }
    }

    private async Task<TriggerResult> RunTickAsync(string schedule, BackupMetadata requested, DateTimeOffset receivedAt, TriggerTick tick, CancellationToken cancellationToken)
    {
        var (ticks, at) = (tick.Ticks, tick.ScheduledTime);
        var claim = Guid.NewGuid().ToString("N");
        string? held = null; // the schedule instance under which this delivery holds the tick
        try
        {
            while (true)
            {
                using (var turn = ScheduleRunLock.TryAcquire(paths, schedule))
                {
                    if (turn is not null)
                    {
                        var instance = catalog.GetSchedule(schedule)?.Instance;
                        // A job unknown to the catalog has no instance: its name stands in (its ticks are still told apart).
                        var key = instance ?? "job:" + schedule;
                        if (held is not null && held != key) ticks.Release(held, at, claim);
                        switch (ticks.Claim(key, at, claim, time.GetUtcNow(), out var doneRunId))
                        {
                            case TickClaimResult.AlreadyDone when catalog.GetRun(doneRunId!) is { } done:
                                held = null;
                                logger.TickAlreadyDone(schedule, receivedAt, at, done.Id);
                                telemetry.Coalesced.Add(1, new KeyValuePair<string, object?>("db.name", done.Database));
                                return new TriggerResult(done, Coalesced: true);
                            case TickClaimResult.AlreadyDone:
                                held = null;
                                logger.TickRunMissing(schedule, at, doneRunId!);
                                ticks.Forget(key, at, doneRunId!);
                                continue;
                            case TickClaimResult.Claimed:
                                held = key;
                                if (instance is not null && catalog.LastSucceededRun(schedule, instance) is { } last && last.StartedAt >= at)
                                {
                                    ticks.Complete(key, at, claim, last.Id, succeeded: true, time.GetUtcNow());
                                    held = null;
                                    logger.TickCovered(schedule, receivedAt, at, last.Id, last.StartedAt);
                                    telemetry.Coalesced.Add(1, new KeyValuePair<string, object?>("db.name", last.Database));
                                    return new TriggerResult(last, Coalesced: true);
                                }
                                break;
                            default:
                                held = null;
                                break;
                        }
                    }
                }
                if (held is not null)
                {
                    try
                    {
                        var run = await RunAsync(schedule, requested, "job", cancellationToken);
                        ticks.Complete(held, at, claim, run.Id, run.Outcome == RunOutcome.Succeeded, time.GetUtcNow());
                        held = null;
                        PruneTicks(ticks);
                        return new TriggerResult(run, Coalesced: false);
                    }
                    catch (ScheduleBusyException) { } // another run of the schedule got the lock first; the claim stays
                }
                await Task.Delay(TurnPollInterval, cancellationToken); // wall-clock: it waits on another process, not on schedule time
            }
        }
        finally
        {
            if (held is not null) ticks.Release(held, at, claim);
        }
    }

    /// <summary>Tick records go with the run history they point into (Backup:RunHistoryMaxAge / RunHistoryMaxCount).</summary>
    private void PruneTicks(TriggerTickCatalog ticks)
    {
        try
        {
            var removed = ticks.Prune(time.GetUtcNow() - options.Value.RunHistoryMaxAge, options.Value.RunHistoryMaxCount);
            if (removed > 0) logger.TicksPruned(removed);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            logger.PruneFailed("tick records", e.Message); // the next run tries again
        }
    }

    private BackupRun? CoveringRun(string schedule, DateTimeOffset receivedAt)
    {
        if (catalog.GetSchedule(schedule) is not { Instance: { } instance } record) return null;
        if (catalog.LastSucceededRun(schedule, instance) is not { } last) return null;
        if (last.StartedAt >= receivedAt) return last;
        return ScheduleTicks.MayTickBetween(ScheduleTicks.TryParse(record.Schedule), record.Schedule, record.DueTime, record.CreatedAt, last.StartedAt, receivedAt)
            ? null : last;
    }

    /// <exception cref="ScheduleBusyException">A run of <paramref name="schedule"/> is in progress; nothing is recorded.</exception>
    public async Task<BackupRun> RunAsync(string schedule, BackupMetadata requested, string trigger, CancellationToken cancellationToken)
    {
        using var runLock = ScheduleRunLock.TryAcquire(paths, schedule) ?? throw new ScheduleBusyException(schedule);
        // Every run is bounded, whoever started it (a trigger, an operator's run-now): a hanging backup is cancelled.
        using var timeLimit = new CancellationTokenSource(options.Value.RunTimeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeLimit.Token);
        cancellationToken = linked.Token;
        // A known schedule backs up what its catalog row says. A caller asking for something else (a job payload
        // changed on the sidecar, say) still gets the schedule's backup, but that run never applies retention.
        var record = catalog.GetSchedule(schedule);
        var target = record is null ? requested : new BackupMetadata(record.Database, record.Location);
        var redirected = record is not null
            && (!string.Equals(requested.DBName, record.Database, StringComparison.OrdinalIgnoreCase) || requested.BackupLocation != record.Location);
        var started = time.GetUtcNow();
        var run = new BackupRun(Guid.NewGuid().ToString("N"), schedule, target.DBName ?? "", trigger, started, null, null, null, null, RunOutcome.Running, null, null, record?.Instance);
        catalog.InsertRun(run);
        logger.RunStarted(run.Id, schedule, run.Database, trigger);
        if (redirected) logger.PayloadIgnored(run.Id, schedule, requested.DBName ?? "", requested.BackupLocation ?? "", record!.Database, record.Location);
        using var activity = BackupTelemetry.Source.StartActivity("backup " + run.Database);
        activity?.SetTag("backup.run_id", run.Id);
        activity?.SetTag("backup.schedule", schedule);
        activity?.SetTag("db.name", run.Database);

        string? tempFile = null, checksumTemp = null, finalFile = null;
        var checksumInPlace = false;
        try
        {
            var (provider, database) = Resolve(run.Database);
            var queued = false;
            using var slot = limiter is null ? null : await limiter.AcquireAsync(WorkLimiter.ServerOf(database, run.Database), run.Database, () =>
            {
                queued = true;
                catalog.SetRunWaiting(run.Id, waiting: true);
                logger.RunQueued(run.Id, schedule, run.Database);
            }, cancellationToken);
            if (queued) catalog.SetRunWaiting(run.Id, waiting: false);
            if (string.IsNullOrWhiteSpace(target.BackupLocation))
                throw new BackupFailedException("The job payload has no metadata.BackupLocation.");
            var directory = paths.ResolveLocation(target.BackupLocation);
            paths.CreateLocation(directory, target.BackupLocation);

            var fileName = $"{BackupFiles.SafeFileName(run.Database)}-{started.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{run.Id[..12]}{provider.FileExtension}";
            catalog.RecordRunFile(run.Id, Path.Combine(directory, fileName)); // what a start after a crash looks for (CatalogReconciler)
            // Same directory as the final file, so the rename below is atomic (never a half-written backup under its real name).
            tempFile = Path.Combine(directory, $".{fileName}{BackupFiles.PartialSuffix}");
            string checksum;
            long bytes;
            DatabaseManifest? manifest;
            // Created here (0600, exclusive, never through a link) and held open while the provider writes into it.
            await using (var held = BackupFiles.CreatePrivate(tempFile))
            {
                await provider.BackupAsync(run.Database, database, tempFile, cancellationToken);
                await provider.VerifyAsync(tempFile, cancellationToken);
                // What the copy holds (tables, rows, schema), for restore drills to compare with.
                manifest = verified is null ? null : await verified.CaptureManifestAsync(provider.Provider, tempFile, cancellationToken);
                held.Flush(flushToDisk: true); // fsync: the inode's data, whoever wrote it.
                held.Position = 0;
                checksum = Convert.ToHexStringLower(await SHA256.HashDataAsync(held, cancellationToken));
                bytes = held.Length;
            }
            // The checksum file is written before the backup takes its name: if it cannot be, there is no orphan backup.
            checksumTemp = Path.Combine(directory, $".{fileName}{ChecksumExtension}{BackupFiles.PartialSuffix}");
            await ChecksumWriter(checksumTemp, $"{checksum}  {fileName}\n", cancellationToken);
            finalFile = Path.Combine(directory, fileName);
            File.Move(tempFile, finalFile, overwrite: false);
            tempFile = null;
            File.Move(checksumTemp, finalFile + ChecksumExtension, overwrite: false);
            checksumTemp = null;
            checksumInPlace = true;
            BackupFiles.FsyncDirectory(directory);

            var ended = time.GetUtcNow();
            var succeeded = run with { EndedAt = ended, Bytes = bytes, Checksum = checksum, File = finalFile, Outcome = RunOutcome.Succeeded };
            // The copies the schedule's other repositories need are recorded before the backup is: it is never listed
            // as complete before they are made, even after a crash in between.
            var objectRepositories = (record?.Repositories ?? RepositoryListRules.Default)
                .Where(r => !string.Equals(r, RepositoryListRules.Local, StringComparison.OrdinalIgnoreCase)).ToList();
            if (objectRepositories.Count > 0)
            {
                if (copier is null) throw new BackupFailedException($"Schedule '{schedule}' names repositories {string.Join(", ", objectRepositories)}, but this worker has none configured.");
                copier.Copies.AddPending(run.Id, objectRepositories, ended);
            }
            if (!TryRecordSucceeded(succeeded, out var unrecorded)) return unrecorded;
            run = succeeded;
            var seconds = (ended - started).TotalSeconds;
            logger.RunSucceeded(run.Id, schedule, run.Database, finalFile, bytes, checksum, seconds);
            telemetry.Runs.Add(1, new("outcome", "succeeded"), new("db.name", run.Database));
            telemetry.Bytes.Add(bytes, new KeyValuePair<string, object?>("db.name", run.Database));
            telemetry.Duration.Record(seconds, new("outcome", "succeeded"), new("db.name", run.Database));

            // Retention prunes only once the new backup is verified: a drill of it that did not succeed leaves every
            // older backup in place (the verification at backup time already passed, or the run would have failed).
            var unverified = verified is null ? null : await verified.AfterVerifiedBackupAsync(run, manifest, cancellationToken); // within this run's slot
            if (unverified is not null) logger.PruneSkippedUnverified(schedule, run.Id, unverified);
            else if (record is not null && !redirected) _retention.Apply(record, run.Id);
            // Then into each object repository the schedule names (each verified there before it counts); a copy that
            // does not make it now stays pending and is retried by CopyRetryService, its local copy kept meanwhile.
            if (copier is not null && objectRepositories.Count > 0)
            {
                await copier.CopyAllAsync(run, cancellationToken);
                run = copier.Copies.Attach(run);
            }
            PruneHistory();
            return run;
        }
        // Whatever went wrong, the run must end recorded as failed and the trigger answered, never left "Running".
        catch (Exception e)
        {
            if (tempFile is not null) BackupFiles.TryDelete(tempFile);
            if (checksumTemp is not null) BackupFiles.TryDelete(checksumTemp);
            if (finalFile is not null && run.Outcome != RunOutcome.Succeeded)
            {
                BackupFiles.TryDelete(finalFile);
                if (checksumInPlace) BackupFiles.TryDelete(finalFile + ChecksumExtension);
            }
            if (run.Outcome == RunOutcome.Succeeded)
            {
                // Recorded already; only retention can get here. The backup stands.
                logger.PruneFailed(schedule, e.Message);
                return run;
            }
            var ended = time.GetUtcNow();
            var error = e is not OperationCanceledException ? e.Message
                : timeLimit.IsCancellationRequested ? $"The backup exceeded its time limit (Backup:RunTimeout {options.Value.RunTimeout}) and was cancelled."
                : "The backup was cancelled.";
            run = run with { EndedAt = ended, Outcome = RunOutcome.Failed, Error = error };
            catalog.CompleteRun(run);
            logger.RunFailed(run.Id, schedule, error);
            activity?.SetStatus(ActivityStatusCode.Error, error);
            telemetry.Runs.Add(1, new("outcome", "failed"), new("db.name", run.Database));
            telemetry.Duration.Record((ended - started).TotalSeconds, new("outcome", "failed"), new("db.name", run.Database));
            PruneHistory();
            return run;
        }
    }

    /// <summary>Records a run that failed before it could start (e.g. an unreadable payload).</summary>
    public BackupRun RecordFailure(string schedule, string database, string trigger, string error)
    {
        var now = time.GetUtcNow();
        var run = new BackupRun(Guid.NewGuid().ToString("N"), schedule, database, trigger, now, now, null, null, null, RunOutcome.Failed, error, null);
        catalog.InsertRun(run);
        logger.RunFailed(run.Id, schedule, error);
        telemetry.Runs.Add(1, new("outcome", "failed"), new("db.name", database));
        PruneHistory();
        return run;
    }

    /// <summary>Keeps the catalog's run history within Backup:RunHistoryMaxAge / RunHistoryMaxCount (after every run).</summary>
    private void PruneHistory()
    {
        try
        {
            var removed = catalog.PruneHistory(time.GetUtcNow() - options.Value.RunHistoryMaxAge, options.Value.RunHistoryMaxCount);
            if (removed > 0) logger.HistoryPruned(removed);
        }
        catch (Microsoft.Data.Sqlite.SqliteException e)
        {
            logger.PruneFailed("run history", e.Message); // the next run tries again
        }
    }

    public bool IsKnownDatabase(string name) => options.Value.Databases.ContainsKey(name);

    public IReadOnlyCollection<string> KnownDatabases => options.Value.Databases.Keys;

    private (IDatabaseBackupProvider Provider, DatabaseOptions Database) Resolve(string name)
    {
        if (!options.Value.Databases.TryGetValue(name, out var database))
        {
            throw new BackupFailedException(
                $"Unknown database '{name}': no Backup:Databases:{name} is configured (configured: {string.Join(", ", options.Value.Databases.Keys.Order())}).");
        }
        var provider = providers.FirstOrDefault(p => p.Provider.Equals(database.Provider, StringComparison.OrdinalIgnoreCase))
            ?? throw new BackupFailedException($"Database '{name}' has provider '{database.Provider}'; supported: {string.Join(", ", providers.Select(p => p.Provider))}.");
        return (provider, database);
    }

    /// <summary>
    /// Records a run's success. When the catalog cannot, the run is answered failed (never succeeded: nothing
    /// records it) and its backup is kept; the row stays running, and the next start records it from its files.
    /// </summary>
    private bool TryRecordSucceeded(BackupRun succeeded, out BackupRun unrecorded)
    {
        try
        {
            catalog.CompleteRun(succeeded);
            unrecorded = succeeded;
            return true;
        }
        catch (Exception e)
        {
            logger.RunUnrecorded(succeeded.Id, succeeded.Schedule, succeeded.File!, e.Message);
            telemetry.Runs.Add(1, new("outcome", "failed"), new("db.name", succeeded.Database));
            unrecorded = succeeded with
            {
                Outcome = RunOutcome.Failed,
                Error = $"The backup was written to '{succeeded.File}' but the catalog could not record it ({e.Message}); the worker records it at its next start.",
            };
            return false;
        }
    }
}
