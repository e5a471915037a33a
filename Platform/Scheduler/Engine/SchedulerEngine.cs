using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Scheduler.Limits;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// The timer engine: owned jobs live in memory with their next due time in a priority queue; one dispatch loop
/// waits on a <see cref="TimeProvider"/> timer for the earliest, sends each due trigger to one consumer stream of
/// the job's app (round-robin), and applies the result (count, failure policy, auto-delete). Progress is handed
/// to the store's batch writer; the store is never scanned per tick.
/// </summary>
/// <remarks>
/// The coordinator of the engine's parts, each owning its state: <see cref="TriggerQueue"/> (what is due when),
/// <see cref="Platform.Scheduler.Engine.DispatchLoop"/> (sending what is due), <see cref="TriggerConsumers"/> (streams,
/// triggers in flight, staging), <see cref="JobOwnership"/> (the partition and the owned jobs), <see cref="JobAdmission"/>
/// (validation, quotas) and <see cref="TriggerOutcomes"/> (failure policy, progress). One lock, held here, guards them all.
/// </remarks>
public sealed partial class SchedulerEngine : IAsyncDisposable
{
    public const string TelemetryName = "Platform.Scheduler";
    internal static readonly ActivitySource ActivitySource = new(TelemetryName);

    private readonly IJobStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SchedulerEngineOptions _options;

    // The parts below are guarded by _gate (see each part for what it reads without it).
    private readonly object _gate = new();
    private readonly TriggerQueue _queue = new();
    private readonly JobOwnership _ownership;
    private readonly JobAdmission _admission;
    private readonly TriggerConsumers _consumers;
    private readonly OwnershipChanges _ownershipChanges;
    private readonly EngineTelemetry _telemetry;
    private readonly DispatchLoop _dispatch;

    private readonly CancellationTokenSource _stopping = new();

    public SchedulerEngine(IJobStore store, TimeProvider? timeProvider = null, ILogger<SchedulerEngine>? logger = null,
        SchedulerEngineOptions? options = null)
    {
        _store = store;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _options = options ?? new SchedulerEngineOptions();
        _telemetry = new EngineTelemetry(() => JobCount, () => ConnectedStreams);
        _ownership = new JobOwnership(_queue, store, _logger, _options.Partition);
        _admission = new JobAdmission(_options, store, _ownership, _time);
        var outcomes = new TriggerOutcomes(_queue, _ownership, store, _telemetry);
        _consumers = new TriggerConsumers(_gate, _queue, outcomes, _telemetry, _time, _logger, _options.TriggerAckTimeout,
            store as IDeferredJobData);
        _ownershipChanges = new OwnershipChanges(_gate, _ownership, _queue, _consumers, store, _logger, _stopping.Token);
        _dispatch = new DispatchLoop(_gate, _queue, _consumers, _ownership, _options, _time, _logger);
    }

    public int JobCount { get { lock (_gate) return _ownership.Count; } }
    /// <summary>This engine's instruments (meter "Platform.Scheduler"); exposed so tests can tell engines apart.</summary>
    internal Meter Meter => _telemetry.Meter;
    public int ConnectedStreams => _consumers.Count;
    public TimeProvider TimeProvider => _time;

    /// <summary>
    /// Completes once the dispatch loop has finished a pass begun after this call and is waiting for the next due time:
    /// it has then read the clock at or after the call, sent everything due by that time and queued before the call,
    /// and nothing more is due. The loop runs on its own task and a fake clock only wakes it, so a test must await this
    /// before asserting that nothing was sent, or it asserts before the loop has looked. Fails once the loop has stopped.
    /// </summary>
    internal Task WhenIdleAsync(CancellationToken cancellationToken = default) => _dispatch.WhenIdleAsync(cancellationToken);

    /// <summary>True while the dispatch loop runs: started, not stopped and not ended by an error. /healthz reports it.</summary>
    public bool IsDispatching => _dispatch.IsRunning && !_stopping.IsCancellationRequested;

    /// <summary>The dispatch loop's task (completed before start); for tests.</summary>
    internal Task DispatchLoop => _dispatch.Task;

    /// <summary>
    /// Test seam: ends the dispatch loop with <paramref name="reason"/> at its next pass, as an unrecoverable fault would,
    /// so a test can see what the process reports once nothing is dispatched any more.
    /// </summary>
    internal void FailDispatchLoop(Exception reason) => _dispatch.Fail(reason);

    /// <summary>Opens the store, loads every owned job (with progress) and starts dispatching.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        _store.SetChangeListener(OnStoreChange);
        await _store.OpenAsync(cancellationToken);
        if (_ownership.Partition is not null) await _ownershipChanges.LoadOwnedAsync(cancellationToken);
        _queue.StartTimer(_time);
        _dispatch.Start(_stopping.Token);
    }

    /// <summary>Stops dispatching, resolves in-flight triggers as undeliverable and commits all progress.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        // A loop that ended with a fault was logged then; progress must still be committed below.
        try { await _dispatch.Task; } catch (Exception) { }
        lock (_gate) _consumers.CompleteAll();
        await _store.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _queue.Dispose();
        _telemetry.Dispose();
    }

    /// <summary>The share of the jobs this engine fires, or null while it owns none.</summary>
    public Partition? OwnedPartition => _ownership.Partition;

    /// <summary>
    /// Takes ownership of <paramref name="partition"/>: whatever was held is dropped and the owned jobs are loaded
    /// afresh from the store, with their progress, as Dapr's replicas reload after every election.
    /// </summary>
    public Task AssumeOwnershipAsync(Partition partition, CancellationToken cancellationToken = default) =>
        _ownershipChanges.AssumeAsync(partition, cancellationToken);

    /// <summary>
    /// Stops firing: every held job is dropped (a result still to come for a trigger in flight is then ignored, and the
    /// next owner fires that tick again) and the progress already queued is committed, so the next owner starts from it.
    /// </summary>
    public Task ReleaseOwnershipAsync() => _ownershipChanges.ReleaseAsync();

    /// <summary>Store changes, called by the store's writer in commit order.</summary>
    private void OnStoreChange(JobChange change)
    {
        lock (_gate)
        {
            if (_ownership.Apply(change)) _ = Task.Run(_ownershipChanges.ResyncAsync);
        }
    }

    /// <summary>
    /// Validates and durably stores a job. Throws <see cref="JobValidationException"/> (Dapr's text),
    /// <see cref="JobArgumentException"/>, <see cref="JobQuotaException"/> or <see cref="JobAlreadyExistsException"/>.
    /// </summary>
    public async Task ScheduleJobAsync(JobKey key, JobDefinition definition, bool overwrite, CancellationToken cancellationToken = default)
    {
        var job = _admission.Admit(key, definition);
        QuotaHold hold;
        lock (_gate) hold = _admission.Reserve(key, job.Data?.Length ?? 0);
        try
        {
            // The store tells the engine of the write before it completes, so the hold ends once it is counted.
            if (!await _store.PutAsync(job, overwrite, cancellationToken)) throw new JobAlreadyExistsException(key.ToString());
        }
        finally
        {
            lock (_gate) _admission.Release(hold);
        }
    }

    /// <summary>The stored job, or null. A name that could not be a job's is refused (as Dapr's engine refuses it).</summary>
    public Task<StoredJob?> GetJobAsync(JobKey key, CancellationToken cancellationToken = default)
    {
        JobAdmission.ValidateKey(key);
        return _store.GetAsync(key, cancellationToken);
    }

    public Task<IReadOnlyList<StoredJob>> ListJobsAsync(string @namespace, string appId, CancellationToken cancellationToken = default)
    {
        ScopeValidator.Validate(@namespace, appId);
        return _store.ListAsync(@namespace, appId, cancellationToken);
    }

    /// <summary>Deletes a job; a missing job is not an error, a name that could not be a job's is. A trigger in flight may
    /// still arrive; its result is ignored.</summary>
    public Task DeleteJobAsync(JobKey key, CancellationToken cancellationToken = default)
    {
        JobAdmission.ValidateKey(key);
        return _store.DeleteAsync(key, cancellationToken);
    }

    /// <summary>Deletes the app's jobs whose name starts with the prefix ("" = all). The prefix must be name-like.</summary>
    public Task DeleteByNamePrefixAsync(string @namespace, string appId, string prefix, CancellationToken cancellationToken = default)
    {
        ScopeValidator.Validate(@namespace, appId);
        JobNameValidator.Validate(prefix + "a");
        return _store.DeleteByPrefixAsync(@namespace, appId, prefix, cancellationToken);
    }

    /// <summary>Live progress and next due time of an owned job, fresher than the store's copy.</summary>
    public bool TryGetLiveStatus(JobKey key, out JobProgress progress, out DateTimeOffset? nextDue) =>
        TryGetLiveStatus(key, out progress, out nextDue, out _);

    /// <summary>As above, plus why the job is quarantined (null when it is not).</summary>
    public bool TryGetLiveStatus(JobKey key, out JobProgress progress, out DateTimeOffset? nextDue, out string? quarantine)
    {
        lock (_gate) return _ownership.TryGetLiveStatus(key, out progress, out nextDue, out quarantine);
    }

    /// <summary>True while the job's trigger is due and held because no consumer of its app is connected.</summary>
    public bool IsStaged(JobKey key)
    {
        lock (_gate) return _ownership.TryGet(key, out var s) && s.Staged && !s.Removed;
    }

    /// <summary>Registers a consumer for the app's triggers. Staged triggers of that app are released at once.</summary>
    public JobStream OpenStream(string @namespace, string appId, bool acceptsJobs = true)
    {
        ScopeValidator.Validate(@namespace, appId);
        var consumer = new Consumer(_ownership.Intern(@namespace), _ownership.Intern(appId), acceptsJobs);
        lock (_gate) _consumers.Add(consumer);
        LogStreamOpened(_logger, consumer.Namespace, consumer.AppId);
        return new JobStream(_consumers, consumer);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Trigger stream opened for {Namespace}/{AppId}")]
    private static partial void LogStreamOpened(ILogger logger, string @namespace, string appId);
}
