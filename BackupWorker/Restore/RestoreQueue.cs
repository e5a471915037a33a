using Shared;
using System.Collections.Concurrent;
using BackupWorker.Backups;
using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>
/// Runs accepted restores and manual drills in the background, so that a caller waits only for the checks that can
/// refuse a request (answered at once) and then polls the record. The work is bounded by the worker's own
/// RestoreTimeout, not by any HTTP timeout on the way, and is the host's to stop: on shutdown it is cancelled, and
/// whatever has not recorded its end by the host's deadline is recorded here as ended, so no record stays Running.
/// </summary>
public sealed class RestoreQueue(RestoreService service, DrillService drills, RestoreCatalog catalog, TimeProvider time, ILogger<RestoreQueue> logger)
    : IHostedService, IDisposable
{
    /// <summary>Manual drills at once, beyond which a request is refused with 429: each one restores a whole backup into scratch.</summary>
    public const int MaxConcurrentDrills = 2;

    private readonly CancellationTokenSource _stopping = new();
    private readonly ConcurrentDictionary<string, Task> _restores = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Task> _drills = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _drillSlots = new(MaxConcurrentDrills);

    /// <summary>
    /// Checks the request and, once nothing can refuse it any more, answers with its record (Running) while the
    /// restore goes on. A refusal throws <see cref="RestoreProblemException"/> as <see cref="RestoreService"/> does.
    /// </summary>
    public async Task<RestoreRecord> AcceptRestoreAsync(RestoreRequest request)
    {
        ThrowIfStopping();
        var accepted = new TaskCompletionSource<RestoreRecord>(TaskCreationOptions.RunContinuationsAsynchronously);
        var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // Recorded before the caller hears of it, so a poll right after the answer finds it; the restore itself records
        // the same Running row next and then its end, which this write can never overtake. Tracked from here on, so a
        // shutdown that starts now still accounts for it.
        void OnAccepted(RestoreRecord record)
        {
            catalog.UpsertRestore(record);
            _restores[record.Id] = ended.Task;
            accepted.TrySetResult(record);
        }
        // The host's token, not the request's: the restore outlives the request that asked for it.
        var work = Task.Run(() => service.RestoreAsync(request, _stopping.Token, OnAccepted));
        if (await Task.WhenAny(accepted.Task, work) == work && !accepted.Task.IsCompleted)
        {
            await work; // a refusal: rethrown to the caller
            throw new InvalidOperationException("A restore ended without being accepted.");
        }
        var running = await accepted.Task;
        _ = ObserveAsync(running, work, ended);
        return running;
    }

    /// <summary>Starts a drill of <paramref name="backup"/> and answers with its record (Running); 429 when enough run.</summary>
    public DrillRecord AcceptDrill(BackupRun backup, string? repository = null)
    {
        ThrowIfStopping();
        if (!_drillSlots.Wait(0))
            throw new RestoreProblemException(429, "Too many drills", $"{MaxConcurrentDrills} drills are running; try again when one has finished.");
        try
        {
            var id = Guid.NewGuid().ToString("N");
            var drill = new DrillRecord(id, backup.Id, backup.Schedule, backup.Database, "manual", time.GetUtcNow(), null, DrillOutcome.Running, null, null, null)
            {
                Repository = repository ?? RepositoryListRules.Local,
            };
            catalog.UpsertDrill(drill); // the drill records itself the same way; this is for a poll that comes first
            var ended = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _drills[id] = ended.Task;
            var work = Task.Run(() => drills.DrillAsync(backup, "manual", _stopping.Token, id: id, repository: drill.Repository));
            _ = ObserveAsync(drill, work, ended);
            return drill;
        }
        catch
        {
            _drillSlots.Release();
            throw;
        }
    }

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        try
        {
            // The work records its own end once it sees the cancellation; wait for that as long as the host allows.
            await Task.WhenAll(_restores.Values.Concat(_drills.Values)).WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Out of time: whatever is still running is recorded as ended below.
        }
        var now = time.GetUtcNow();
        foreach (var id in _restores.Keys)
            if (catalog.GetRestore(id) is { Outcome: RunOutcome.Running } record)
            {
                catalog.UpsertRestore(record with { EndedAt = now, Outcome = RunOutcome.Failed, Error = StoppedError });
                logger.RestoreAbandoned(id, StoppedError);
            }
        foreach (var id in _drills.Keys)
            if (catalog.GetDrill(id) is { Outcome: DrillOutcome.Running } drill)
            {
                catalog.UpsertDrill(drill with { EndedAt = now, Outcome = DrillOutcome.Inconclusive, Error = StoppedError });
                logger.DrillAbandoned(id, StoppedError);
            }
    }

    private const string StoppedError = "The worker shut down before this finished, and it did not stop in time; it was abandoned unfinished.";

    private void ThrowIfStopping()
    {
        if (_stopping.IsCancellationRequested)
            throw new RestoreProblemException(503, "Worker stopping", "The worker is shutting down; try again once it is back.");
    }

    private async Task ObserveAsync(RestoreRecord record, Task<RestoreRecord> work, TaskCompletionSource ended)
    {
        try
        {
            await work;
        }
        catch (RestoreProblemException)
        {
            // A failed restore recorded (and logged) its outcome itself.
        }
        catch (Exception e)
        {
            // Its end could not be recorded (the catalog failed, say): say so, and try to record it once more.
            logger.RestoreAbandoned(record.Id, e.Message);
            try { catalog.UpsertRestore(record with { EndedAt = time.GetUtcNow(), Outcome = RunOutcome.Failed, Error = e.Message }); }
            catch (Exception again) when (again is not OutOfMemoryException) { logger.RestoreAbandoned(record.Id, again.Message); }
        }
        finally
        {
            _restores.TryRemove(record.Id, out _);
            ended.TrySetResult();
        }
    }

    private async Task ObserveAsync(DrillRecord drill, Task<DrillRecord> work, TaskCompletionSource ended)
    {
        try
        {
            await work; // a drill records every outcome itself
        }
        catch (Exception e)
        {
            // Whatever stopped it says nothing about the backup's content: inconclusive, never a verdict against it.
            logger.DrillAbandoned(drill.Id, e.Message);
            try { catalog.UpsertDrill(drill with { EndedAt = time.GetUtcNow(), Outcome = DrillOutcome.Inconclusive, Error = e.Message }); }
            catch (Exception again) when (again is not OutOfMemoryException) { logger.DrillAbandoned(drill.Id, again.Message); }
        }
        finally
        {
            _drills.TryRemove(drill.Id, out _);
            _drillSlots.Release();
            ended.TrySetResult();
        }
    }

    public void Dispose()
    {
        _stopping.Dispose();
        _drillSlots.Dispose();
    }
}
