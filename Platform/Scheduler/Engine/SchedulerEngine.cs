using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Security.Cryptography;
using Google.Protobuf;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Scheduler.Limits;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

public sealed class SchedulerEngineOptions
{
    /// <summary>
    /// The share of the jobs the engine owns from the start: all of them for a single scheduler; null for a replica
    /// of several, which owns nothing until the replicas agree on the partitions (<see cref="SchedulerEngine.AssumeOwnershipAsync"/>).
    /// </summary>
    public Partition? Partition { get; set; } = Engine.Partition.All;
    /// <summary>Most triggers dispatched per pass before the loop yields.</summary>
    public int DispatchBatch { get; set; } = 4096;
    /// <summary>Most jobs one (namespace, app id) may hold; 0 = no bound. Counts the jobs in the store (every replica's).</summary>
    public int MaxJobsPerApp { get; set; }
    /// <summary>Largest serialized job data in bytes; 0 = no bound.</summary>
    public int MaxJobDataBytes { get; set; }
    /// <summary>Most bytes of job data one (namespace, app id) may hold in all; 0 = no bound.</summary>
    public long MaxJobDataBytesPerApp { get; set; }
    /// <summary>Most jobs the whole scheduler (the store) may hold; 0 = no bound.</summary>
    public int MaxJobs { get; set; }
    /// <summary>Most bytes of job data the whole scheduler (the store) may hold; 0 = no bound.</summary>
    public long MaxJobDataBytesTotal { get; set; }
    /// <summary>How long a sent trigger may go unanswered before it is taken back and redelivered; infinite = never.</summary>
    public TimeSpan TriggerAckTimeout { get; set; } = Timeout.InfiniteTimeSpan;
}

/// <summary>
/// The timer engine: owned jobs live in memory with their next due time in a priority queue; one dispatch loop
/// waits on a <see cref="TimeProvider"/> timer for the earliest, sends each due trigger to one consumer stream of
/// the job's app (round-robin), and applies the result (count, failure policy, auto-delete). Progress is handed
/// to the store's batch writer; the store is never scanned per tick.
/// </summary>
public sealed partial class SchedulerEngine : IAsyncDisposable
{
    public const string TelemetryName = "Platform.Scheduler";
    internal static readonly ActivitySource ActivitySource = new(TelemetryName);

    private readonly IJobStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SchedulerEngineOptions _options;

    // Everything below is guarded by _gate.
    private readonly object _gate = new();
    private readonly Dictionary<JobKey, JobState> _jobs = [];
    private readonly PriorityQueue<(JobState Job, int Token), long> _queue = new();
    private readonly Dictionary<(string, string), AppStreams> _streams = [];
    private readonly Dictionary<(string, string), List<JobState>> _staged = [];
    private readonly Dictionary<string, ISchedule> _schedules = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _interned = new(StringComparer.Ordinal);
    private readonly AppJobCounts _appJobs = new();
    /// <summary>When the in-flight triggers are next looked at for an overdue answer; MaxValue when none is in flight.</summary>
    private long _nextAckCheck = long.MaxValue;
    private long _dispatchSeq;
    private long _armedFor = long.MaxValue;
    private int _streamCount;
    /// <summary>Dispatch passes begun; numbers the passes <see cref="_idleWaiters"/> wait for.</summary>
    private long _passes;
    private readonly IdleWaiters _idleWaiters = new();
    /// <summary>The jobs this engine fires; null while it owns none (a replica between elections).</summary>
    private volatile Partition? _partition;
    /// <summary>Serializes ownership changes: a reload must not interleave with a release.</summary>
    private readonly SemaphoreSlim _ownershipGate = new(1, 1);

    private readonly SemaphoreSlim _wake = new(0);
    private readonly CancellationTokenSource _stopping = new();
    private ITimer? _timer;
    private Task? _loop;
    /// <summary>Test seam: set, the loop ends with this error at its next pass (see <see cref="FailDispatchLoop"/>).</summary>
    private Exception? _injectedLoopFault;

    private readonly Meter _meter;
    private readonly Counter<long> _triggersSent;
    private readonly Counter<long> _results;
    private readonly Histogram<double> _lateness;
    private readonly Counter<long> _ackTimeouts;

    public SchedulerEngine(IJobStore store, TimeProvider? timeProvider = null, ILogger<SchedulerEngine>? logger = null,
        SchedulerEngineOptions? options = null)
    {
        _store = store;
        _time = timeProvider ?? TimeProvider.System;
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _options = options ?? new SchedulerEngineOptions();
        _partition = _options.Partition;
        _meter = new Meter(TelemetryName);
        _meter.CreateObservableGauge("scheduler.jobs.stored", () => JobCount, "{job}", "Jobs held by this replica's engine");
        _meter.CreateObservableGauge("scheduler.sidecars.connected", () => ConnectedStreams, "{stream}", "Connected trigger streams");
        _triggersSent = _meter.CreateCounter<long>("scheduler.triggers.sent", "{trigger}", "Triggers sent to a stream");
        _results = _meter.CreateCounter<long>("scheduler.trigger.results", "{trigger}", "Trigger results by outcome");
        _lateness = _meter.CreateHistogram<double>("scheduler.trigger.lateness", "ms", "Send time minus due time");
        _ackTimeouts = _meter.CreateCounter<long>("scheduler.trigger.ack_timeouts", "{trigger}", "Triggers taken back for redelivery after no answer within the ack timeout");
    }

    public int JobCount { get { lock (_gate) return _jobs.Count; } }
    /// <summary>This engine's instruments (meter "Platform.Scheduler"); exposed so tests can tell engines apart.</summary>
    internal Meter Meter => _meter;
    public int ConnectedStreams => Volatile.Read(ref _streamCount);
    public TimeProvider TimeProvider => _time;

    /// <summary>
    /// Completes once the dispatch loop has finished a pass begun after this call and is waiting for the next due time:
    /// it has then read the clock at or after the call, sent everything due by that time and queued before the call,
    /// and nothing more is due. The loop runs on its own task and a fake clock only wakes it, so a test must await this
    /// before asserting that nothing was sent, or it asserts before the loop has looked. Fails once the loop has stopped.
    /// </summary>
    internal Task WhenIdleAsync(CancellationToken cancellationToken = default)
    {
        Task idle;
        lock (_gate) idle = _idleWaiters.Add(_passes + 1);
        // Force that pass: with nothing due the loop would otherwise sleep until the next tick.
        Wake();
        return idle.WaitAsync(cancellationToken);
    }

    /// <summary>True while the dispatch loop runs: started, not stopped and not ended by an error. /healthz reports it.</summary>
    public bool IsDispatching => _loop is { IsCompleted: false } && !_stopping.IsCancellationRequested;

    /// <summary>The dispatch loop's task (completed before start); for tests.</summary>
    internal Task DispatchLoop => _loop ?? Task.CompletedTask;

    /// <summary>
    /// Test seam: ends the dispatch loop with <paramref name="reason"/> at its next pass, as an unrecoverable fault would,
    /// so a test can see what the process reports once nothing is dispatched any more.
    /// </summary>
    internal void FailDispatchLoop(Exception reason)
    {
        Volatile.Write(ref _injectedLoopFault, reason);
        Wake();
    }

    // ---- lifecycle ---------------------------------------------------------------------------------------

    /// <summary>Opens the store, loads every owned job (with progress) and starts dispatching.</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        _store.SetChangeListener(OnStoreChange);
        await _store.OpenAsync(cancellationToken);
        if (_partition is not null) await LoadOwnedAsync(cancellationToken);
        _timer = _time.CreateTimer(static s => ((SchedulerEngine)s!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _loop = Task.Run(DispatchLoopAsync, CancellationToken.None);
    }

    /// <summary>The share of the jobs this engine fires, or null while it owns none.</summary>
    public Partition? OwnedPartition => _partition;

    /// <summary>
    /// Takes ownership of <paramref name="partition"/>: whatever was held is dropped and the owned jobs are loaded
    /// afresh from the store, with their progress, as Dapr's replicas reload after every election.
    /// </summary>
    public async Task AssumeOwnershipAsync(Partition partition, CancellationToken cancellationToken = default)
    {
        await _ownershipGate.WaitAsync(cancellationToken);
        try
        {
            await ReloadAsync(partition, cancellationToken);
        }
        finally
        {
            _ownershipGate.Release();
        }
    }

    /// <summary>Drops what is held and loads <paramref name="partition"/>; the caller holds <see cref="_ownershipGate"/>.</summary>
    private async Task ReloadAsync(Partition partition, CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            DropAll();
            _partition = partition;
        }
        await LoadOwnedAsync(cancellationToken);
    }

    /// <summary>
    /// Stops firing: every held job is dropped (a result still to come for a trigger in flight is then ignored, and the
    /// next owner fires that tick again) and the progress already queued is committed, so the next owner starts from it.
    /// </summary>
    public async Task ReleaseOwnershipAsync()
    {
        await _ownershipGate.WaitAsync();
        try
        {
            lock (_gate)
            {
                _partition = null;
                DropAll();
            }
            await _store.FlushAsync();
        }
        finally
        {
            _ownershipGate.Release();
        }
    }

    private async Task LoadOwnedAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var loaded = 0;
        // Sized once for the expected share: grown by doubling, 1M jobs leave the table 40 % empty and copy it 20 times.
        if ((_store as IJobStoreUsage)?.Usage.Total.Count is > 0 and var stored && _partition is { } share)
            lock (_gate) { _jobs.EnsureCapacity(stored / share.Total); _queue.EnsureCapacity(stored / share.Total); }
        await foreach (var job in _store.LoadAsync(Owns, cancellationToken))
        {
            // Install quarantines a job it cannot take; nothing one row holds may stop start-up.
            lock (_gate) InstallIfNewer(job);
            loaded++;
        }
        LogLoaded(_logger, loaded, Stopwatch.GetElapsedTime(started).TotalMilliseconds, _partition?.ToString() ?? "none");
    }

    /// <summary>Forgets every held job; queue entries and staged lists of dropped jobs are skipped as removed.</summary>
    private void DropAll()
    {
        foreach (var state in _jobs.Values.ToList()) Forget(state);
        _queue.Clear();
        _staged.Clear();
    }

    /// <summary>Reloads the owned jobs after the store lost track of changes (nothing, if it owns none by then).</summary>
    private async Task ResyncAsync()
    {
        try
        {
            await _ownershipGate.WaitAsync(_stopping.Token);
            try
            {
                if (_partition is { } partition) await ReloadAsync(partition, _stopping.Token);
            }
            finally
            {
                _ownershipGate.Release();
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogResyncFailed(_logger, e);
        }
    }

    /// <summary>Stops dispatching, resolves in-flight triggers as undeliverable and commits all progress.</summary>
    public async Task StopAsync()
    {
        if (_stopping.IsCancellationRequested) return;
        _stopping.Cancel();
        if (_loop is not null)
        {
            // A loop that ended with a fault was logged then; progress must still be committed below.
            try { await _loop; } catch (Exception) { }
        }
        lock (_gate)
        {
            foreach (var app in _streams.Values)
                foreach (var s in app.Streams) s.Channel.Writer.TryComplete();
        }
        await _store.FlushAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        _timer?.Dispose();
        _meter.Dispose();
    }

    private bool Owns(ulong partitionId) => _partition?.Owns(partitionId) ?? false;

    // ---- API -------------------------------------------------------------------------------------------------

    /// <summary>
    /// Validates and durably stores a job. Throws <see cref="JobValidationException"/> (Dapr's text) or
    /// <see cref="JobAlreadyExistsException"/>.
    /// </summary>
    public async Task ScheduleJobAsync(JobKey key, JobDefinition definition, bool overwrite, CancellationToken cancellationToken = default)
    {
        ScopeValidator.Validate(key.Namespace, key.AppId);
        JobNameValidator.Validate(key.Name);
        // Malformed protobuf values are refused before anything is stored: a stored one could not be applied.
        RetryPolicy.Validate(definition.FailurePolicy);
        var now = _time.GetUtcNow();
        var timing = JobTiming.Resolve(new JobTimingSpec(definition.Schedule, definition.Repeats, definition.DueTime, definition.Ttl), now);
        var data = definition.Data?.ToByteArray();
        if (_options.MaxJobDataBytes > 0 && data is not null && data.Length > _options.MaxJobDataBytes)
            throw new JobQuotaException($"job data is {data.Length} bytes, over the limit of {_options.MaxJobDataBytes} bytes per job");
        var job = new StoredJob
        {
            Key = key,
            PartitionId = NewPartitionId(),
            Schedule = definition.Schedule,
            Repeats = definition.Repeats,
            DueTime = definition.DueTime,
            Ttl = definition.Ttl,
            Data = data,
            FailurePolicy = RetryPolicy.Normalize(definition.FailurePolicy).ToByteArray(),
            Created = timing.Created.UtcTicks,
            Due = timing.Due?.UtcTicks ?? TickCalculator.None,
            Expiration = timing.Expiration?.UtcTicks ?? long.MaxValue,
            TraceParent = definition.TraceParent,
            TraceState = definition.TraceState,
        };
        var reserved = ReserveQuota(key);
        StoreReservations.Reservation? reservedData = null;
        try
        {
            // Inside the try: a refusal here must give back the place the app's job count reserved.
            if ((_store as IJobStoreUsage)?.Usage is { } usage) reservedData = ReserveStoreQuota(usage, key, data?.Length ?? 0);
            if (!await _store.PutAsync(job, overwrite, cancellationToken)) throw new JobAlreadyExistsException(key);
        }
        finally
        {
            if (reserved) lock (_gate) _appJobs.Release(key);
            if (reservedData is { } r) lock (_gate) _storeReservations.Release(r);
        }
    }

    private readonly StoreReservations _storeReservations = new();

    /// <summary>
    /// Checks the quotas counted from the store (every replica's jobs, so replicas agree): bytes of job data per app,
    /// jobs and bytes in all; and holds what this write adds until it has been applied, so concurrent calls cannot
    /// together pass a bound. Throws <see cref="JobQuotaException"/> naming the bound that would be passed.
    /// </summary>
    private StoreReservations.Reservation? ReserveStoreQuota(StoreUsage usage, JobKey key, long bytes)
    {
        var o = _options;
        if (o.MaxJobDataBytesPerApp <= 0 && o.MaxJobs <= 0 && o.MaxJobDataBytesTotal <= 0) return null;
        lock (_gate)
        {
            var existing = usage.BytesOf(key);
            var added = new StoreReservations.Reservation(key, existing is null ? 1 : 0, Math.Max(0, bytes - (existing ?? 0)));
            var app = usage.App(key.Namespace, key.AppId);
            var heldApp = _storeReservations.App(key);
            var total = usage.Total;
            var heldTotal = _storeReservations.Total;
            var appBytes = app.Bytes + heldApp.Bytes;
            if (o.MaxJobDataBytesPerApp > 0 && added.Bytes > 0 && appBytes + added.Bytes > o.MaxJobDataBytesPerApp)
                throw new JobQuotaException($"app '{key.Namespace}||{key.AppId}' holds {appBytes} bytes of job data, {added.Bytes} more would pass the limit of {o.MaxJobDataBytesPerApp} bytes per app");
            var count = total.Count + heldTotal.Count;
            if (o.MaxJobs > 0 && added.Count > 0 && count + added.Count > o.MaxJobs)
                throw new JobQuotaException($"the scheduler holds {count} jobs, the limit of {o.MaxJobs} jobs in all");
            var totalBytes = total.Bytes + heldTotal.Bytes;
            if (o.MaxJobDataBytesTotal > 0 && added.Bytes > 0 && totalBytes + added.Bytes > o.MaxJobDataBytesTotal)
                throw new JobQuotaException($"the scheduler holds {totalBytes} bytes of job data, {added.Bytes} more would pass the limit of {o.MaxJobDataBytesTotal} bytes in all");
            _storeReservations.Add(added);
            return added;
        }
    }

    /// <summary>
    /// Holds a place in the app's job quota for a new name until its write has been applied (the store tells the engine
    /// before the write completes), so concurrent calls cannot together pass the bound. A name the app already holds
    /// needs no place. Throws <see cref="JobQuotaException"/> when the app is full. Counted from the store when it
    /// counts (every replica's jobs of the app), else from the jobs this engine holds.
    /// </summary>
    private bool ReserveQuota(JobKey key)
    {
        var max = _options.MaxJobsPerApp;
        if (max <= 0) return false;
        var usage = (_store as IJobStoreUsage)?.Usage;
        lock (_gate)
        {
            if (usage is not null ? usage.BytesOf(key) is not null : _jobs.ContainsKey(key)) return false;
            var held = usage is not null ? usage.App(key.Namespace, key.AppId).Count + _appJobs.Reserved(key) : _appJobs.Held(key);
            if (held >= max)
                throw new JobQuotaException($"app '{key.Namespace}||{key.AppId}' holds {held} jobs, the limit of {max} jobs per app");
            _appJobs.Reserve(key);
            return true;
        }
    }

    /// <summary>The stored job, or null. A name that could not be a job's is refused (as Dapr's engine refuses it).</summary>
    public Task<StoredJob?> GetJobAsync(JobKey key, CancellationToken cancellationToken = default)
    {
        ScopeValidator.Validate(key.Namespace, key.AppId);
        JobNameValidator.Validate(key.Name);
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
        ScopeValidator.Validate(key.Namespace, key.AppId);
        JobNameValidator.Validate(key.Name);
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
        lock (_gate)
        {
            if (_jobs.TryGetValue(key, out var s))
            {
                progress = s.Progress;
                quarantine = s.Quarantine;
                nextDue = s.CurrentTick == TickCalculator.None || s.Quarantine is not null ? null
                    : new DateTimeOffset(Math.Min(s.Attempts > 0 ? s.FireAt : s.CurrentTick, LastInstant), TimeSpan.Zero);
                return true;
            }
        }
        progress = default;
        nextDue = null;
        quarantine = null;
        return false;
    }

    /// <summary>True while the job's trigger is due and held because no consumer of its app is connected.</summary>
    public bool IsStaged(JobKey key)
    {
        lock (_gate) return _jobs.TryGetValue(key, out var s) && s.Staged && !s.Removed;
    }

    /// <summary>Registers a consumer for the app's triggers. Staged triggers of that app are released at once.</summary>
    public JobStream OpenStream(string @namespace, string appId, bool acceptsJobs = true)
    {
        ScopeValidator.Validate(@namespace, appId);
        var stream = new JobStream(this, Intern(@namespace), Intern(appId), acceptsJobs);
        lock (_gate)
        {
            var app = (stream.Namespace, stream.AppId);
            if (!_streams.TryGetValue(app, out var list)) _streams[app] = list = new AppStreams();
            list.Streams.Add(stream);
            _streamCount++;
            if (acceptsJobs && _staged.Remove(app, out var staged))
            {
                var now = _time.GetUtcNow().UtcTicks;
                foreach (var job in staged)
                {
                    if (job.Removed || !job.Staged || job.Quarantine is not null) continue;
                    job.Staged = false;
                    Enqueue(job, Math.Min(now, job.FireAt));
                }
                LogReleasedStaged(_logger, staged.Count, stream.Namespace, stream.AppId);
            }
        }
        LogStreamOpened(_logger, stream.Namespace, stream.AppId);
        return stream;
    }

    internal void CloseStream(JobStream stream)
    {
        List<InFlightTrigger> orphans;
        lock (_gate)
        {
            if (stream.Closed) return;
            stream.Closed = true;
            stream.Channel.Writer.TryComplete();
            if (_streams.TryGetValue((stream.Namespace, stream.AppId), out var list))
            {
                list.Streams.Remove(stream);
                if (list.Streams.Count == 0) _streams.Remove((stream.Namespace, stream.AppId));
            }
            _streamCount--;
            orphans = [.. stream.InFlight.Values];
            stream.InFlight.Clear();
            foreach (var f in orphans) Resolve(f, TriggerOutcome.Undeliverable);
        }
        LogStreamClosed(_logger, stream.Namespace, stream.AppId, orphans.Count);
    }

    internal void OnResult(JobStream stream, ulong id, TriggerOutcome outcome)
    {
        lock (_gate)
        {
            if (!stream.InFlight.Remove(id, out var flight))
            {
                LogUnknownResult(_logger, id, stream.AppId);
                return;
            }
            Resolve(flight, outcome);
        }
    }

    internal void OnRejected(JobStream stream, ulong id, Exception reason)
    {
        lock (_gate)
        {
            if (!stream.InFlight.Remove(id, out var flight)) return;
            flight.Activity?.SetStatus(ActivityStatusCode.Error, reason.Message);
            flight.Activity?.Stop();
            var state = flight.Job;
            if (state.Removed || state.DispatchSeq != flight.DispatchSeq || state.Quarantine is not null) return;
            Quarantine(state, "fire", reason);
        }
    }

    // ---- store changes (called by the store's writer in commit order) ------------------------------------

    private void OnStoreChange(JobChange change)
    {
        lock (_gate)
        {
            switch (change)
            {
                case JobChange.Put put:
                    InstallIfNewer(put.Job);
                    break;
                case JobChange.Deleted deleted:
                    if (_jobs.TryGetValue(deleted.Key, out var gone) && (deleted.Revision == 0 || gone.Revision < deleted.Revision)) Forget(gone);
                    break;
                case JobChange.Resync:
                    _ = Task.Run(ResyncAsync);
                    break;
                case JobChange.PrefixDeleted prefix:
                    foreach (var name in prefix.Names)
                        if (_jobs.TryGetValue(new JobKey(prefix.Namespace, prefix.AppId, name), out var g)) Forget(g);
                    break;
            }
        }
    }

    /// <summary>
    /// Takes a stored definition in place of the one held, unless the held one is as new (the store's watch echoes this
    /// replica's own writes, and a reload may read a job a later change already brought); a job this engine does not
    /// own is only let go.
    /// </summary>
    private void InstallIfNewer(StoredJob stored)
    {
        if (_jobs.TryGetValue(stored.Key, out var held))
        {
            if (stored.Revision != 0 && held.Revision >= stored.Revision) return;
            Forget(held);
        }
        if (Owns(stored.PartitionId)) Install(stored);
    }

    /// <summary>Takes a stored job into the timer queue; a job it cannot take is quarantined, never thrown.</summary>
    private void Install(StoredJob stored)
    {
        var key = new JobKey(Intern(stored.Key.Namespace), Intern(stored.Key.AppId), stored.Key.Name);
        JobState state;
        try
        {
            if (stored.LoadError is { } loadError) throw new InvalidDataException(loadError);
            ISchedule? schedule = null;
            if (stored.Schedule is not null && !_schedules.TryGetValue(stored.Schedule, out schedule))
            {
                try { schedule = ScheduleParser.Parse(stored.Schedule); }
                catch (ScheduleFormatException e) { throw new InvalidDataException("unparsable schedule: " + e.Message, e); }
                if (_schedules.Count < 100_000) _schedules[stored.Schedule] = schedule;
            }
            state = new JobState
            {
                Key = key,
                RowId = stored.RowId,
                PartitionId = stored.PartitionId,
                Revision = stored.Revision,
                Schedule = schedule,
                Repeats = stored.Repeats ?? 0,
                Created = stored.Created,
                Due = stored.Due,
                Expiration = stored.Expiration,
                Policy = RetryPolicy.From(stored.FailurePolicy),
                Data = stored.Data,
                TraceParent = stored.TraceParent,
                TraceState = stored.TraceState,
                Count = stored.Progress.Count,
                LastTrigger = stored.Progress.LastTrigger,
                Attempts = stored.Progress.Attempts,
                LastResult = stored.Progress.LastResult,
            };
        }
        catch (Exception e)
        {
            state = new JobState { Key = key, RowId = stored.RowId, PartitionId = stored.PartitionId, Revision = stored.Revision };
            Track(state);
            Quarantine(state, "install", e);
            return;
        }
        Track(state);
        try
        {
            ScheduleNextTick(state, keepAttempts: true);
        }
        catch (Exception e)
        {
            Quarantine(state, "install", e);
        }
    }

    /// <summary>
    /// Sets a job aside after <paramref name="stage"/> failed for it: logged, kept visible with its reason, never
    /// dispatched again (its queue entries are invalidated) until it is overwritten or deleted.
    /// </summary>
    private void Quarantine(JobState state, string stage, Exception error)
    {
        state.Quarantine = $"{stage} failed: {error.Message}";
        state.QueueToken++;
        state.InFlight = false;
        state.Staged = false;
        state.CurrentTick = TickCalculator.None;
        LogQuarantined(_logger, error, state.Key.ToString(), stage);
    }

    private void Track(JobState state)
    {
        if (_jobs.TryAdd(state.Key, state)) _appJobs.Added(state.Key);
        else _jobs[state.Key] = state;
    }

    private void Forget(JobState state)
    {
        state.Removed = true;
        if (_jobs.Remove(state.Key)) _appJobs.Removed(state.Key);
    }

    // ---- the trigger cycle -------------------------------------------------------------------------------

    /// <summary>Computes the job's next tick; queues it, or deletes the job when there is none.</summary>
    private void ScheduleNextTick(JobState state, bool keepAttempts)
    {
        var tick = state.NextTick();
        if (tick == TickCalculator.None)
        {
            Forget(state);
            state.CurrentTick = TickCalculator.None;
            _store.EnqueueCompletion(state.RowId, state.PartitionId);
            LogJobDone(_logger, state.Key.ToString(), state.Count);
            return;
        }
        state.CurrentTick = tick;
        if (!keepAttempts) state.Attempts = 0;
        Enqueue(state, FireTime(tick, state.Attempts, state.Policy.IntervalTicks));
    }

    /// <summary>Latest instant the engine can represent; later fire times wait there (i.e. never come).</summary>
    private static readonly long LastInstant = DateTimeOffset.MaxValue.UtcTicks;

    /// <summary>tick + attempts × interval, saturated at <see cref="LastInstant"/> rather than overflowing into the past.</summary>
    internal static long FireTime(long tick, uint attempts, long intervalTicks)
    {
        if (attempts == 0 || intervalTicks <= 0) return Math.Min(tick, LastInstant);
        var room = LastInstant - tick;
        return room / attempts < intervalTicks ? LastInstant : tick + attempts * intervalTicks;
    }

    private void Enqueue(JobState state, long fireAt)
    {
        fireAt = Math.Min(fireAt, LastInstant);
        state.FireAt = fireAt;
        state.QueueToken++;
        _queue.Enqueue((state, state.QueueToken), fireAt);
        if (fireAt < _armedFor)
        {
            _armedFor = fireAt;
            Wake();
        }
    }

    private void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    private async Task DispatchLoopAsync()
    {
        try
        {
            await RunDispatchLoopAsync();
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogLoopFailed(_logger, e);
            lock (_gate) _idleWaiters.End(new InvalidOperationException("The dispatch loop failed.", e));
            throw;
        }
        lock (_gate) _idleWaiters.End(new ObjectDisposedException(nameof(SchedulerEngine), "The dispatch loop has stopped."));
    }

    /// <summary>How long the loop waits before another pass after a pass failed outside any one job.</summary>
    internal static readonly TimeSpan PassRetryDelay = TimeSpan.FromSeconds(1);

    private async Task RunDispatchLoopAsync()
    {
        var token = _stopping.Token;
        while (!token.IsCancellationRequested)
        {
            if (Volatile.Read(ref _injectedLoopFault) is { } fault) throw fault;
            long pass;
            try
            {
                long nextDue;
                long now;
                var dispatched = 0;
                lock (_gate)
                {
                    pass = ++_passes;
                    now = _time.GetUtcNow().UtcTicks;
                    // Unanswered triggers are taken back first, so that this pass already redelivers them.
                    if (now >= _nextAckCheck) TakeBackUnanswered(now);
                    while (dispatched < _options.DispatchBatch && _queue.TryPeek(out var entry, out var due))
                    {
                        if (entry.Token != entry.Job.QueueToken || entry.Job.Removed || entry.Job.InFlight || entry.Job.Staged)
                        {
                            _queue.Dequeue();
                            continue;
                        }
                        if (due > now) break;
                        _queue.Dequeue();
                        // One job's failure is that job's alone: set it aside and go on with the others.
                        try { Dispatch(entry.Job, now); }
                        catch (Exception e) { Quarantine(entry.Job, "dispatch", e); }
                        dispatched++;
                    }
                    nextDue = Math.Min(_queue.TryPeek(out _, out var d) ? d : long.MaxValue, _nextAckCheck);
                    _armedFor = dispatched >= _options.DispatchBatch ? long.MinValue : nextDue;
                }
                LogPass(_logger, dispatched, nextDue == long.MaxValue ? -1 : TimeSpan.FromTicks(nextDue - now).TotalMilliseconds);
                if (dispatched >= _options.DispatchBatch)
                {
                    await Task.Yield();
                    continue;
                }
                _timer!.Change(nextDue == long.MaxValue ? Timeout.InfiniteTimeSpan : TimerDelay(nextDue - now), Timeout.InfiniteTimeSpan);
                // The clock may have passed the due time while the timer was being armed (a timer is relative).
                if (nextDue != long.MaxValue && _time.GetUtcNow().UtcTicks >= nextDue) continue;
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                // A fault outside any one job: dispatching must not end, so log it and try again shortly.
                LogPassFailed(_logger, e);
                lock (_gate) _armedFor = long.MinValue;
                try { _timer!.Change(PassRetryDelay, Timeout.InfiniteTimeSpan); }
                catch (Exception timerError) { LogPassFailed(_logger, timerError); }
                await _wake.WaitAsync(token).ConfigureAwait(false);
                continue;
            }
            if (_idleWaiters.HasWaiters)
            {
                lock (_gate) _idleWaiters.Release(pass);
            }
            await _wake.WaitAsync(token).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The wait until the next due time, rounded UP to a whole millisecond: system timers truncate to milliseconds,
    /// so a sub-millisecond wait would fire at once, find nothing due and re-arm, spinning a core until the tick.
    /// </summary>
    /// <remarks>
    /// A system timer takes at most 4294967294 ms (~49.7 days) and throws beyond it, so a longer wait is taken in
    /// steps of at most <see cref="MaxTimerStep"/>: the loop wakes, finds nothing due and arms the next step.
    /// </remarks>
    internal static TimeSpan TimerDelay(long ticksUntilDue) =>
        ticksUntilDue <= 0 ? TimeSpan.Zero
        : ticksUntilDue >= MaxTimerStep.Ticks ? MaxTimerStep
        : TimeSpan.FromMilliseconds(Math.Ceiling((double)ticksUntilDue / TimeSpan.TicksPerMillisecond));

    /// <summary>Longest single timer wait; well below the system timer's limit of 4294967294 ms.</summary>
    internal static readonly TimeSpan MaxTimerStep = TimeSpan.FromDays(1);

    private void Dispatch(JobState state, long now)
    {
        var app = (state.Key.Namespace, state.Key.AppId);
        var stream = _streams.TryGetValue(app, out var streams) ? streams.Next() : null;
        if (stream is null)
        {
            Stage(state);
            return;
        }

        state.InFlight = true;
        state.DispatchSeq = ++_dispatchSeq;
        var id = ++stream.LastId;
        var activity = StartTriggerActivity(state);
        stream.InFlight[id] = new InFlightTrigger(state, state.DispatchSeq, activity, now);
        if (_nextAckCheck == long.MaxValue && AckTimeoutTicks is { } timeout) _nextAckCheck = SaturatingAdd(now, timeout);
        stream.Channel.Writer.TryWrite(new JobTrigger
        {
            Id = id,
            Key = state.Key,
            Data = state.Data,
            ScheduledTime = new DateTimeOffset(state.CurrentTick, TimeSpan.Zero),
            DueTime = new DateTimeOffset(state.FireAt, TimeSpan.Zero),
            Attempt = state.Attempts,
            TraceParent = activity?.Id,
            TraceState = activity?.TraceStateString,
        });
        _triggersSent.Add(1);
        _lateness.Record(TimeSpan.FromTicks(Math.Max(0, now - state.FireAt)).TotalMilliseconds);
    }

    private long? AckTimeoutTicks => _options.TriggerAckTimeout == Timeout.InfiniteTimeSpan ? null : _options.TriggerAckTimeout.Ticks;

    private static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue - 1 : a + b;

    /// <summary>
    /// Resolves every trigger unanswered for the ack timeout as undeliverable: not counted, no failure policy, sent again
    /// (to the app's next stream, or staged). A late answer to it is then ignored as unknown. The in-flight tables are
    /// walked at most about eight times per timeout, so a trigger is taken back within 1⅛ timeouts of being sent.
    /// </summary>
    private void TakeBackUnanswered(long now)
    {
        if (AckTimeoutTicks is not { } timeout)
        {
            _nextAckCheck = long.MaxValue;
            return;
        }
        var next = long.MaxValue;
        List<(JobStream Stream, ulong Id)>? overdue = null;
        foreach (var app in _streams.Values)
        {
            foreach (var stream in app.Streams)
            {
                foreach (var (id, flight) in stream.InFlight)
                {
                    var deadline = SaturatingAdd(flight.SentAt, timeout);
                    if (deadline <= now) (overdue ??= []).Add((stream, id));
                    else next = Math.Min(next, deadline);
                }
            }
        }
        foreach (var (stream, id) in overdue ?? [])
        {
            if (!stream.InFlight.Remove(id, out var flight)) continue;
            _ackTimeouts.Add(1);
            LogUnanswered(_logger, flight.Job.Key.ToString(), id, stream.AppId, TimeSpan.FromTicks(timeout).TotalSeconds);
            Resolve(flight, TriggerOutcome.Undeliverable);
        }
        _nextAckCheck = next == long.MaxValue ? long.MaxValue : Math.Max(next, SaturatingAdd(now, Math.Max(1, timeout / 8)));
    }

    private Activity? StartTriggerActivity(JobState state)
    {
        if (!ActivitySource.HasListeners()) return null;
        ActivityLink[]? links = null;
        if (state.TraceParent is not null && ActivityContext.TryParse(state.TraceParent, state.TraceState, out var scheduledBy))
            links = [new ActivityLink(scheduledBy)];
        var previous = Activity.Current;
        Activity.Current = null;
        var activity = ActivitySource.StartActivity(ActivityKind.Producer, default(ActivityContext),
            links: links, name: "scheduler.trigger " + state.Key.Name);
        Activity.Current = previous;
        if (activity is not null)
        {
            activity.SetTag("scheduler.job.name", state.Key.Name);
            activity.SetTag("scheduler.job.namespace", state.Key.Namespace);
            activity.SetTag("scheduler.job.app_id", state.Key.AppId);
            activity.SetTag("scheduler.job.scheduled_time", new DateTimeOffset(state.CurrentTick, TimeSpan.Zero).ToString("O"));
            activity.SetTag("scheduler.job.attempt", state.Attempts);
        }
        return activity;
    }

    private void Stage(JobState state)
    {
        state.Staged = true;
        var app = (state.Key.Namespace, state.Key.AppId);
        if (!_staged.TryGetValue(app, out var list)) _staged[app] = list = [];
        list.Add(state);
    }

    /// <summary>Applies a trigger's outcome; a job whose outcome cannot be applied is quarantined, never thrown.</summary>
    private void Resolve(in InFlightTrigger flight, TriggerOutcome outcome)
    {
        try
        {
            ApplyOutcome(flight, outcome);
        }
        catch (Exception e)
        {
            if (!flight.Job.Removed) Quarantine(flight.Job, "fire", e);
        }
    }

    private void ApplyOutcome(in InFlightTrigger flight, TriggerOutcome outcome)
    {
        var state = flight.Job;
        _results.Add(1, new KeyValuePair<string, object?>("outcome", outcome switch
        {
            TriggerOutcome.Success => "success",
            TriggerOutcome.Failed => "failed",
            _ => "undeliverable",
        }));
        if (flight.Activity is { } activity)
        {
            activity.SetTag("scheduler.trigger.outcome", outcome.ToString().ToLowerInvariant());
            if (outcome != TriggerOutcome.Success) activity.SetStatus(ActivityStatusCode.Error, outcome.ToString());
            activity.Stop();
        }
        // Deleted or replaced meanwhile, or a result for an older dispatch: nothing to apply.
        if (state.Removed || state.Quarantine is not null || state.DispatchSeq != flight.DispatchSeq || !state.InFlight) return;
        state.InFlight = false;

        switch (outcome)
        {
            case TriggerOutcome.Success:
                CompleteTick(state, JobResultKind.Success);
                break;
            case TriggerOutcome.Failed:
                state.Attempts++;
                state.LastResult = JobResultKind.Failed;
                if (state.Policy.ShouldRetry(state.Attempts))
                {
                    // Retry k is due at tick + k × interval, measured from the tick, not from the failure.
                    _store.EnqueueProgress(new ProgressUpdate(state.RowId, state.PartitionId, state.Progress));
                    Enqueue(state, FireTime(state.CurrentTick, state.Attempts, state.Policy.IntervalTicks));
                }
                else
                {
                    CompleteTick(state, JobResultKind.Failed);
                }
                break;
            default:
                // Not counted, no failure policy: wait for a consumer (or go to another stream of the app now).
                if (_streams.ContainsKey((state.Key.Namespace, state.Key.AppId))) Enqueue(state, state.FireAt);
                else Stage(state);
                break;
        }
    }

    private void CompleteTick(JobState state, JobResultKind result)
    {
        state.Count++;
        state.LastTrigger = state.CurrentTick;
        state.Attempts = 0;
        state.LastResult = result;
        ScheduleNextTick(state, keepAttempts: false);
        if (!state.Removed) _store.EnqueueProgress(new ProgressUpdate(state.RowId, state.PartitionId, state.Progress));
    }

    private string Intern(string s)
    {
        lock (_interned)
        {
            if (_interned.TryGetValue(s, out var existing)) return existing;
            _interned[s] = s;
            return s;
        }
    }

    private static ulong NewPartitionId()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes);
    }

    private sealed class AppStreams
    {
        public readonly List<JobStream> Streams = [];
        private int _next;

        /// <summary>Round-robin over the streams that accept jobs.</summary>
        public JobStream? Next()
        {
            for (var i = 0; i < Streams.Count; i++)
            {
                var s = Streams[(int)((uint)_next++ % (uint)Streams.Count)];
                if (s.AcceptsJobs) return s;
            }
            return null;
        }
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "Dispatch pass: {Dispatched} sent, next due in {Milliseconds} ms")]
    private static partial void LogPass(ILogger logger, int dispatched, double milliseconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The dispatch loop failed; no more triggers will be sent")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} jobs in {Milliseconds} ms (partition {Partition})")]
    private static partial void LogLoaded(ILogger logger, int count, double milliseconds, string partition);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading the owned jobs after the store lost track of changes failed")]
    private static partial void LogResyncFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trigger stream opened for {Namespace}/{AppId}")]
    private static partial void LogStreamOpened(ILogger logger, string @namespace, string appId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Trigger stream closed for {Namespace}/{AppId}; {InFlight} triggers in flight become undeliverable")]
    private static partial void LogStreamClosed(ILogger logger, string @namespace, string appId, int inFlight);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Count} staged jobs for {Namespace}/{AppId}")]
    private static partial void LogReleasedStaged(ILogger logger, int count, string @namespace, string appId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignoring result for unknown trigger id {Id} from {AppId}")]
    private static partial void LogUnknownResult(ILogger logger, ulong id, string appId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {Key} finished after {Count} ticks; deleting")]
    private static partial void LogJobDone(ILogger logger, string key, uint count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {Key} is quarantined: {Stage} failed; it will not be dispatched until it is overwritten or deleted")]
    private static partial void LogQuarantined(ILogger logger, Exception exception, string key, string stage);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trigger {TriggerId} of job {Key} got no answer from {AppId} within {Seconds} s; redelivering it")]
    private static partial void LogUnanswered(ILogger logger, string key, ulong triggerId, string appId, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "A dispatch pass failed; retrying shortly")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}

/// <summary>ScheduleJob without overwrite for a name that exists; the message is Dapr's.</summary>
public sealed class JobAlreadyExistsException(JobKey key) : Exception($"job already exists: '{key}'");
