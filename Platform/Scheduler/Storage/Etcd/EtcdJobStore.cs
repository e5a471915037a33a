using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>
/// The job store on an external etcd cluster, laid out as Dapr's scheduler lays out its jobs: each job's definition
/// under <c>dapr/jobs/app||&lt;namespace&gt;||&lt;app id&gt;||&lt;name&gt;</c>, its progress (count, last tick, failure-policy
/// attempts) under <c>dapr/counters/…</c> with the same suffix. As in the SQLite store, every write goes through one
/// writer loop that commits whatever is waiting in one etcd transaction (within etcd's limits on operations and bytes
/// per request), so concurrent durable writes share a round trip to the quorum and queued progress rides along.
/// </summary>
/// <remarks>
/// A progress or completion write is conditional on the job key's mod revision still being the one this store last
/// wrote or read: a job replaced meanwhile (a newer revision) keeps its fresh progress. Row ids are this process's
/// own handles on job keys; etcd has no row ids.
/// </remarks>
public sealed partial class EtcdJobStore : IJobStore, IStoreHealth, Limits.IJobStoreUsage
{
    private readonly EtcdStoreOptions _options;
    private readonly IReadOnlyList<Uri> _endpoints;
    private readonly EtcdKeys _keys;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Channel<WriteOp> _ops = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PendingProgress _pending = new();
    private Action<JobChange> _listener = static _ => { };
    private EtcdConnection? _connection;
    private Task? _writer;
    private Task? _probe;
    private Task? _watch;
    /// <summary>
    /// Changes reach the engine one at a time and in revision order, whether they come from this store's own writes,
    /// from the watch (other replicas' writes) or from a reload: a reload holds it while it reads, and changes at or
    /// below the revision it read are then skipped, as the reload already reflects them.
    /// </summary>
    private readonly SemaphoreSlim _feed = new(1, 1);
    private long _feedFloor;
    /// <summary>The last revision the watch has reported whole: an own write at or below it was heard of already.</summary>
    private long _watchedThrough;
    /// <summary>Revisions of this store's own writes already reported, which the watch will bring again: it skips them.</summary>
    private readonly SortedSet<long> _reportedOwn = [];

    /// <summary>Test seams: awaited before the engine hears of a committed transaction, and before the watch reports a response.</summary>
    internal Func<Task>? BeforeOwnReport { get; set; }
    internal Func<Task>? BeforeWatchReport { get; set; }

    private readonly CancellationTokenSource _closing = new();

    // The job keys this process knows, by row id, with the partition id and mod revision last written or read.
    private readonly object _trackGate = new();
    private readonly Dictionary<long, Tracked> _tracked = [];
    private readonly Dictionary<JobKey, long> _rowIds = [];
    private long _lastRowId;

    private volatile string? _probeProblem;
    private volatile string? _writeProblem;

    public EtcdJobStore(EtcdStoreOptions options, ILogger<EtcdJobStore>? logger = null, TimeProvider? timeProvider = null)
    {
        _options = options;
        _endpoints = options.ParseEndpoints();
        _keys = new EtcdKeys(options.KeyPrefix);
        _logger = (ILogger?)logger ?? NullLogger.Instance;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>The endpoints as given, for messages.</summary>
    public string Endpoints => string.Join(",", _endpoints.Select(u => u.Authority));

    public string? Problem => _writeProblem ?? _probeProblem;

    /// <summary>Every job in the cluster under the prefix, whichever replica fires it: what the quotas count.</summary>
    public Limits.StoreUsage Usage { get; } = new();

    public void SetChangeListener(Action<JobChange> listener) => _listener = listener;

    private KV.KVClient Kv => (_connection ?? throw new InvalidOperationException("The store is not open.")).Kv;

    private DateTime Deadline => DateTime.UtcNow + _options.RequestTimeout;

    /// <summary>Connects and waits (bounded) for a quorum read to succeed; throws with the cluster's endpoints and the last error.</summary>
    public async Task OpenAsync(CancellationToken cancellationToken = default)
    {
        _connection = EtcdConnection.Create(_options);
        if (!string.IsNullOrEmpty(_options.ClientPassword)) LogPasswordOnCommandLine(_logger, EtcdStoreOptions.PasswordVariable);
        var giveUp = _time.GetUtcNow() + _options.ConnectTimeout;
        long openedAt;
        while (true)
        {
            try
            {
                openedAt = (await QuorumReadAsync(cancellationToken)).Header.Revision;
                break;
            }
            catch (RpcException e) when (EtcdRetry.IsTransient(e) && _time.GetUtcNow() < giveUp)
            {
                LogConnectRetry(_logger, Endpoints, e.Status.StatusCode, e.Status.Detail);
                await Task.Delay(TimeSpan.FromMilliseconds(500), _time, cancellationToken);
            }
            catch (RpcException e) when (!EtcdRetry.IsTransient(e))
            {
                throw new InvalidOperationException(
                    $"The etcd cluster at {Endpoints} refused the job store ({e.Status.StatusCode}: {e.Status.Detail}). " +
                    "Check --etcd-client-username and --etcd-client-password (or their -file forms)" + TlsHint, e);
            }
            catch (RpcException e)
            {
                throw new InvalidOperationException(
                    $"The etcd cluster at {Endpoints} did not answer within {_options.ConnectTimeout.TotalSeconds:0.#} s ({e.Status.StatusCode}: {e.Status.Detail}). " +
                    "Start it, or check --etcd-client-endpoints" + TlsHint, e);
            }
        }
        await ScanUsageAsync(openedAt, cancellationToken);
        LogConnected(_logger, Endpoints, _keys.Jobs);
        _writer = Task.Run(WriterLoopAsync, CancellationToken.None);
        _probe = Task.Run(ProbeLoopAsync, CancellationToken.None);
        _watch = Task.Run(() => WatchLoopAsync(openedAt + 1), CancellationToken.None);
    }

    private string TlsHint => _options.UseTls ? " and the TLS files (--etcd-client-ca-file, --etcd-client-cert-file, --etcd-client-key-file)." : ".";

    /// <summary>Counts every job at <paramref name="revision"/> (the watch goes on from the next), page by page, keeping none.</summary>
    private async Task ScanUsageAsync(long revision, CancellationToken cancellationToken)
    {
        var jobs = new List<(JobKey, long, long)>();
        await ReadAsync(async () =>
        {
            jobs.Clear();
            await foreach (var (kv, _) in RangePagesAsync(ByteString.CopyFromUtf8(_keys.Jobs), revision, cancellationToken))
            {
                var job = _keys.Decode(kv, null);
                jobs.Add((job.Key, job.Data?.Length ?? 0, kv.ModRevision));
            }
            return 0;
        }, cancellationToken);
        Usage.Reset(jobs);
    }

    /// <summary>A linearizable read: it succeeds only while the cluster has a quorum.</summary>
    private Task<RangeResponse> QuorumReadAsync(CancellationToken cancellationToken) =>
        Kv.RangeAsync(new RangeRequest { Key = ByteString.CopyFromUtf8(_keys.Jobs), Limit = 1, CountOnly = true },
            deadline: Deadline, cancellationToken: cancellationToken).ResponseAsync;

    private async Task ProbeLoopAsync()
    {
        var token = _closing.Token;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await QuorumReadAsync(token);
                if (_probeProblem is not null) LogClusterBack(_logger, Endpoints);
                _probeProblem = null;
            }
            catch (RpcException e) when (!token.IsCancellationRequested)
            {
                var problem = $"the etcd cluster at {Endpoints} does not answer a quorum read ({e.Status.StatusCode}: {e.Status.Detail})";
                if (_probeProblem is null) LogClusterLost(_logger, problem);
                _probeProblem = problem;
            }
            catch (Exception e) when (e is OperationCanceledException or RpcException && token.IsCancellationRequested)
            {
                // Closing: gRPC reports the cancelled probe as an RpcException (Cancelled), not as a cancellation.
                break;
            }
            try { await Task.Delay(_options.HealthProbeInterval, _time, token); }
            catch (OperationCanceledException) { break; }
        }
    }

    // ---- tracking ----------------------------------------------------------------------------------------

    private readonly record struct Tracked(JobKey Key, ulong PartitionId, long ModRevision);

    /// <summary>Forgets the key unless what is known of it is newer than <paramref name="revision"/>.</summary>
    private void UntrackIfOlder(JobKey key, long revision)
    {
        lock (_trackGate)
        {
            if (_rowIds.TryGetValue(key, out var rowId) && (!_tracked.TryGetValue(rowId, out var known) || known.ModRevision < revision))
            {
                _rowIds.Remove(key);
                _tracked.Remove(rowId);
            }
        }
    }

    /// <summary>Returns the key's row id, recording the partition id and revision when they are at least as new as those known.</summary>
    private long Track(JobKey key, ulong partitionId, long modRevision)
    {
        lock (_trackGate)
        {
            if (!_rowIds.TryGetValue(key, out var rowId)) _rowIds[key] = rowId = ++_lastRowId;
            if (!_tracked.TryGetValue(rowId, out var known) || known.ModRevision <= modRevision)
                _tracked[rowId] = new Tracked(key, partitionId, modRevision);
            return rowId;
        }
    }

    private void Untrack(JobKey key)
    {
        lock (_trackGate)
        {
            if (_rowIds.Remove(key, out var rowId)) _tracked.Remove(rowId);
        }
    }

    private bool TryGetTracked(long rowId, ulong partitionId, out Tracked tracked)
    {
        lock (_trackGate) return _tracked.TryGetValue(rowId, out tracked) && tracked.PartitionId == partitionId;
    }

    // ---- awaited writes ----------------------------------------------------------------------------------

    public async Task<bool> PutAsync(StoredJob job, bool overwrite, CancellationToken cancellationToken = default)
    {
        var op = new PutOp(job, overwrite);
        await SubmitAsync(op);
        return op.Stored;
    }

    public Task DeleteAsync(JobKey key, CancellationToken cancellationToken = default) => SubmitAsync(new DeleteOp(key));

    public Task DeleteByPrefixAsync(string @namespace, string appId, string prefix, CancellationToken cancellationToken = default) =>
        SubmitAsync(new PrefixDeleteOp(@namespace, appId, prefix));

    public Task FlushAsync(CancellationToken cancellationToken = default) => SubmitAsync(new FlushOp());

    private Task SubmitAsync(WriteOp op)
    {
        // Never opened (start-up failed): nothing was queued, so there is nothing to flush.
        if (_writer is null && op is FlushOp) return Task.CompletedTask;
        if (_writer is null) throw new InvalidOperationException("The etcd job store is not open.");
        if (!_ops.Writer.TryWrite(op)) throw new ObjectDisposedException(nameof(EtcdJobStore));
        return op.Done.Task;
    }

    // ---- queued writes -----------------------------------------------------------------------------------

    public void EnqueueProgress(in ProgressUpdate update)
    {
        if (_pending.Add(update)) _ops.Writer.TryWrite(new WakeOp());
    }

    public void EnqueueCompletion(long rowId, ulong partitionId)
    {
        if (_pending.Complete(rowId, partitionId)) _ops.Writer.TryWrite(new WakeOp());
    }

    // ---- the writer ----------------------------------------------------------------------------------------

    private async Task WriterLoopAsync()
    {
        var batch = new List<WriteOp>();
        var reader = _ops.Reader;
        var open = true;
        while (open || batch.Count > 0)
        {
            if (batch.Count > 0)
            {
                // Writes kept back by a transient failure go first; nothing to wait for.
            }
            else if (!await reader.WaitToReadAsync())
            {
                open = false;
            }
            else if (reader.TryPeek(out var first) && first is WakeOp)
            {
                // Only queued progress is waiting: let more gather so one commit carries many ticks.
                await Task.Delay(_options.ProgressFlushInterval, _time);
            }

            while (reader.TryRead(out var op)) batch.Add(op);
            var now = _time.GetUtcNow();
            foreach (var op in batch) op.FirstTried ??= now;

            var (progress, completions) = _pending.Take();
            if (batch.Count == 0 && progress.Count == 0 && completions.Count == 0)
            {
                if (!open) break;
                continue;
            }

            var committed = 0;
            var retry = false;
            var queued = new List<Queued>(progress.Count + completions.Count);
            foreach (var p in progress.Values) queued.Add(new Queued(p.RowId, p.PartitionId, p.Progress, Completion: false));
            foreach (var (rowId, partition) in completions) queued.Add(new Queued(rowId, partition, default, Completion: true));
            var queuedDone = 0;
            try
            {
                await CommitAsync(batch, queued, () => committed++, () => queuedDone++);
                _writeProblem = null;
                if (batch.Count > 1 || queued.Count > 0) LogBatch(_logger, batch.Count, progress.Count, completions.Count);
            }
            catch (Exception e)
            {
                _writeProblem = $"the etcd cluster at {Endpoints} refused or did not answer a write ({(e as RpcException)?.Status.StatusCode.ToString() ?? e.GetType().Name}: {(e as RpcException)?.Status.Detail ?? e.Message})";
                LogCommitFailed(_logger, e, batch.Count - committed);
                // A leader election or a member going away is transient: such writes are tried again for a while
                // (a put that did land is recognized by its value); anything else fails its callers now.
                var transient = EtcdRetry.IsTransient(e);
                var giveUp = _time.GetUtcNow() - _options.WriteRetryWindow;
                var kept = new List<WriteOp>();
                foreach (var op in batch.Skip(committed))
                {
                    if (transient && op.FirstTried > giveUp) kept.Add(op);
                    else op.Done.TrySetException(e);
                }
                batch.Clear();
                batch.AddRange(kept);
                retry = true;
                // Progress is not lost: what was not committed goes back, unless newer progress was queued meanwhile.
                var notDone = queued.Skip(queuedDone).ToList();
                _pending.PutBack(notDone.Where(q => !q.Completion).Select(q => new ProgressUpdate(q.RowId, q.PartitionId, q.Progress)),
                    notDone.Where(q => q.Completion).Select(q => (q.RowId, q.PartitionId)));
                if (!open)
                {
                    // Closing with the cluster away: callers get the error rather than a wait that never ends.
                    foreach (var op in batch) op.Done.TrySetException(e);
                    batch.Clear();
                    break;
                }
                try { await Task.Delay(TimeSpan.FromMilliseconds(500), _time, _closing.Token); }
                catch (OperationCanceledException) { }
                // Put-back progress wakes nobody by itself (a wake is sent only for the first queued update): try again.
                _ops.Writer.TryWrite(new WakeOp());
            }
            finally
            {
                if (!retry) batch.Clear();
            }
        }
    }

    /// <summary>A read tried again through a transient failure (a leader election, a member going away), within the retry window.</summary>
    private Task<T> ReadAsync<T>(Func<Task<T>> read, CancellationToken cancellationToken) =>
        EtcdRetry.ReadAsync(read, _time, _options.WriteRetryWindow, TimeSpan.FromMilliseconds(200), null, cancellationToken);

    private readonly record struct Queued(long RowId, ulong PartitionId, JobProgress Progress, bool Completion);

    /// <summary>
    /// Commits the awaited writes in order, then the queued progress and completions, in as few transactions as
    /// etcd's limits allow. A transaction never names a key twice (etcd refuses that): a second write of a key starts the next.
    /// </summary>
    private async Task CommitAsync(List<WriteOp> batch, List<Queued> queued, Action opCommitted, Action queuedCommitted)
    {
        var txn = new TxnBuilder(_options);
        foreach (var op in batch)
        {
            if (op is PrefixDeleteOp prefix)
            {
                await txn.CommitAsync(this);
                txn = new TxnBuilder(_options);
                await DeletePrefixAsync(prefix);
                opCommitted();
                continue;
            }
            var (keys, ops, bytes) = op.Shape(_keys);
            if (!txn.Fits(keys, ops, bytes))
            {
                await txn.CommitAsync(this);
                txn = new TxnBuilder(_options);
            }
            txn.Add(op, keys, ops, bytes, _keys, opCommitted);
        }
        foreach (var q in queued)
        {
            if (!TryGetTracked(q.RowId, q.PartitionId, out var tracked))
            {
                // Replaced or deleted through this store meanwhile: nothing of the old job is to be written.
                txn.AddNothing(queuedCommitted);
                continue;
            }
            var jobKey = _keys.Job(tracked.Key);
            var counterKey = _keys.Counter(tracked.Key);
            ByteString[] keys = [jobKey, counterKey];
            var value = q.Completion ? ByteString.Empty : EtcdKeys.Encode(q.PartitionId, q.Progress);
            var bytes = jobKey.Length + counterKey.Length * 2 + value.Length + 32;
            if (!txn.Fits(keys, 1, bytes))
            {
                await txn.CommitAsync(this);
                txn = new TxnBuilder(_options);
            }
            var guarded = new TxnRequest
            {
                Compare =
                {
                    new Compare
                    {
                        Key = jobKey, Target = Compare.Types.CompareTarget.Mod, Result = Compare.Types.CompareResult.Equal,
                        ModRevision = tracked.ModRevision,
                    },
                },
            };
            if (q.Completion)
            {
                guarded.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = jobKey } });
                guarded.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = counterKey } });
            }
            else
            {
                guarded.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = counterKey, Value = value } });
            }
            var key = tracked.Key;
            var completion = q.Completion;
            txn.AddQueued(new RequestOp { RequestTxn = guarded }, keys, bytes, (response, revision) =>
            {
                if (completion && response.ResponseTxn.Succeeded)
                {
                    Untrack(key);
                    Usage.Delete(key, revision);
                }
                queuedCommitted();
            });
        }
        await txn.CommitAsync(this);
    }

    /// <summary>Reads the app's jobs under the prefix and deletes exactly those (app ids may hold '|', so a key range alone could take another app's).</summary>
    private async Task DeletePrefixAsync(PrefixDeleteOp op)
    {
        var rangeKey = ByteString.CopyFromUtf8(_keys.AppJobs(op.Namespace, op.AppId) + op.Prefix);
        var found = await Kv.RangeAsync(new RangeRequest { Key = rangeKey, RangeEnd = EtcdKeys.RangeEnd(rangeKey) },
            deadline: Deadline).ResponseAsync;
        var names = new List<string>();
        foreach (var kv in found.Kvs)
        {
            var job = _keys.Decode(kv, null);
            if (job.Key.Namespace == op.Namespace && job.Key.AppId == op.AppId && job.Key.Name.StartsWith(op.Prefix, StringComparison.Ordinal))
                names.Add(job.Key.Name);
        }
        var perTxn = Math.Max(1, _options.MaxTxnOps / 2);
        var revisions = new List<long>();
        for (var i = 0; i < names.Count; i += perTxn)
        {
            var request = new TxnRequest();
            foreach (var name in names.Skip(i).Take(perTxn))
            {
                var key = new JobKey(op.Namespace, op.AppId, name);
                request.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = _keys.Job(key) } });
                request.Success.Add(new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = _keys.Counter(key) } });
            }
            var response = await Kv.TxnAsync(request, deadline: Deadline).ResponseAsync;
            var revision = response.Header.Revision;
            if (EtcdWrites.Wrote(response.Responses)) revisions.Add(revision);
            foreach (var name in names.Skip(i).Take(perTxn)) Usage.Delete(new JobKey(op.Namespace, op.AppId, name), revision);
        }
        foreach (var name in names) Untrack(new JobKey(op.Namespace, op.AppId, name));
        if (names.Count > 0) await NotifyOwnAsync([new JobChange.PrefixDeleted(op.Namespace, op.AppId, names)], revisions);
        op.Done.TrySetResult();
    }

    /// <summary>
    /// Reports this store's own writes, committed at <paramref name="revisions"/>, before their callers hear back (unless a
    /// reload or the watch already reported them); the watch then skips them. Only revisions the writes created may be
    /// given: a transaction that wrote nothing answers with the cluster's current revision, another replica's write,
    /// which the watch would then skip as ours and the engine never hear of.
    /// </summary>
    private async Task NotifyOwnAsync(List<JobChange> changes, IReadOnlyCollection<long> revisions)
    {
        if (BeforeOwnReport is { } seam) await seam();
        await _feed.WaitAsync();
        try
        {
            // Heard of already: reporting it again could bring back a job that fired and finished meanwhile.
            if (revisions.All(r => r <= Math.Max(_feedFloor, _watchedThrough))) return;
            foreach (var r in revisions) _reportedOwn.Add(r);
            Report(changes);
        }
        finally
        {
            _feed.Release();
        }
    }

    /// <summary>
    /// Reports what one watch response brought, each change at its revision (0: not a change of its own, always
    /// reported), unless reported already. A response is reported whole, so an own write is heard of once: from the
    /// watch or from its commit, whichever is first.
    /// </summary>
    private async Task NotifyWatchedAsync(List<(JobChange Change, long Revision)> watched)
    {
        if (BeforeWatchReport is { } seam) await seam();
        await _feed.WaitAsync();
        try
        {
            foreach (var (change, revision) in watched)
            {
                if (revision != 0)
                {
                    // Own writes the watch has passed can no longer come again.
                    while (_reportedOwn.Count > 0 && _reportedOwn.Min < revision) _reportedOwn.Remove(_reportedOwn.Min);
                    _watchedThrough = Math.Max(_watchedThrough, revision);
                    if (revision <= _feedFloor || _reportedOwn.Contains(revision)) continue;
                }
                Report([change]);
            }
        }
        finally
        {
            _feed.Release();
        }
    }

    private void Report(List<JobChange> changes)
    {
        foreach (var change in changes)
        {
            try { _listener(change); }
            catch (Exception e) { LogListenerFailed(_logger, e); }
        }
    }

    /// <summary>One etcd transaction being built: its operations, the keys they name and what to do with each response.</summary>
    private sealed class TxnBuilder(EtcdStoreOptions options)
    {
        private readonly TxnRequest _request = new();
        private readonly HashSet<ByteString> _keys = [];
        private readonly List<Action> _afterNothing = [];
        private int _bytes;

        /// <summary>
        /// etcd allows a nested transaction only as many operations as the limit leaves after its parent's count, so the
        /// top level keeps room for the largest nested one (two operations).
        /// </summary>
        private const int NestedOps = 2;

        public bool Fits(IReadOnlyList<ByteString> keys, int ops, int bytes) =>
            _request.Success.Count == 0
            || (_request.Success.Count + ops <= options.MaxTxnOps - NestedOps && _bytes + bytes <= options.MaxTxnBytes && !keys.Any(_keys.Contains));

        public void Add(WriteOp op, IReadOnlyList<ByteString> keys, int ops, int bytes, EtcdKeys layout, Action committed)
        {
            foreach (var k in keys) _keys.Add(k);
            _bytes += bytes;
            foreach (var request in op.Requests(layout)) _request.Success.Add(request);
            _pendingOps.Add((op, _request.Success.Count - ops, committed));
        }

        private readonly List<(WriteOp Op, int First, Action Committed)> _pendingOps = [];

        public void AddQueued(RequestOp request, IReadOnlyList<ByteString> keys, int bytes, Action<ResponseOp, long> committed)
        {
            foreach (var k in keys) _keys.Add(k);
            _bytes += bytes;
            _request.Success.Add(request);
            _queued.Add((_request.Success.Count - 1, committed));
        }

        private readonly List<(int Index, Action<ResponseOp, long> Committed)> _queued = [];

        public void AddNothing(Action committed) => _afterNothing.Add(committed);

        public async Task CommitAsync(EtcdJobStore store)
        {
            if (_request.Success.Count > 0)
            {
                var response = await store.Kv.TxnAsync(_request, deadline: store.Deadline).ResponseAsync;
                var revision = response.Header.Revision;
                var changes = new List<JobChange>();
                foreach (var (op, first, _) in _pendingOps) op.Applied(response.Responses, first, revision, store, changes);
                // The engine hears of a write before its caller does (it holds quota places until then).
                await store.NotifyOwnAsync(changes, EtcdWrites.Wrote(response.Responses) ? [revision] : []);
                foreach (var (op, _, committed) in _pendingOps)
                {
                    committed();
                    op.Done.TrySetResult();
                }
                foreach (var (index, committed) in _queued) committed(response.Responses[index], revision);
            }
            else
            {
                foreach (var (op, _, committed) in _pendingOps)
                {
                    committed();
                    op.Done.TrySetResult();
                }
            }
            foreach (var committed in _afterNothing) committed();
        }
    }

    private abstract class WriteOp
    {
        public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public DateTimeOffset? FirstTried { get; set; }

        /// <summary>The keys it writes, its number of top-level operations and an upper bound of its request bytes.</summary>
        public virtual (ByteString[] Keys, int Ops, int Bytes) Shape(EtcdKeys keys) => ([], 0, 0);

        public virtual IEnumerable<RequestOp> Requests(EtcdKeys keys) => [];

        public virtual void Applied(IList<ResponseOp> responses, int first, long revision, EtcdJobStore store, List<JobChange> changes) { }
    }

    private sealed class PutOp(StoredJob job, bool overwrite) : WriteOp
    {
        private ByteString? _value;
        public bool Stored { get; private set; }

        private ByteString Value => _value ??= EtcdKeys.Encode(job);

        public override (ByteString[] Keys, int Ops, int Bytes) Shape(EtcdKeys keys)
        {
            var jobKey = keys.Job(job.Key);
            var counterKey = keys.Counter(job.Key);
            return ([jobKey, counterKey], 1, jobKey.Length * 2 + counterKey.Length + Value.Length + 64);
        }

        public override IEnumerable<RequestOp> Requests(EtcdKeys keys)
        {
            var jobKey = keys.Job(job.Key);
            // Put and reset of the progress in one nested transaction; without overwrite only if the key is absent.
            var txn = new TxnRequest
            {
                Success =
                {
                    new RequestOp { RequestPut = new PutRequest { Key = jobKey, Value = Value } },
                    new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = keys.Counter(job.Key) } },
                },
            };
            if (!overwrite)
            {
                txn.Compare.Add(new Compare { Key = jobKey, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
                // Read back on failure: after a transient error the first try may have landed, and its value is ours.
                txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = jobKey } });
            }
            yield return new RequestOp { RequestTxn = txn };
        }

        public override void Applied(IList<ResponseOp> responses, int first, long revision, EtcdJobStore store, List<JobChange> changes)
        {
            var response = responses[first].ResponseTxn;
            if (!response.Succeeded)
            {
                // Ours only if this very value (its random partition id) is what a previous try stored.
                var existing = response.Responses.Count > 0 ? response.Responses[0].ResponseRange.Kvs.FirstOrDefault() : null;
                if (existing is null || existing.Value != Value) return;
                revision = existing.ModRevision;
            }
            Stored = true;
            store.Usage.Put(job.Key, job.Data?.Length ?? 0, revision);
            job.Progress = JobProgress.Initial;
            job.Revision = revision;
            job.RowId = store.Track(job.Key, job.PartitionId, revision);
            changes.Add(new JobChange.Put(job));
        }
    }

    private sealed class DeleteOp(JobKey key) : WriteOp
    {
        public override (ByteString[] Keys, int Ops, int Bytes) Shape(EtcdKeys keys)
        {
            var jobKey = keys.Job(key);
            var counterKey = keys.Counter(key);
            return ([jobKey, counterKey], 2, jobKey.Length + counterKey.Length + 32);
        }

        public override IEnumerable<RequestOp> Requests(EtcdKeys keys)
        {
            yield return new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = keys.Job(key) } };
            yield return new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = keys.Counter(key) } };
        }

        public override void Applied(IList<ResponseOp> responses, int first, long revision, EtcdJobStore store, List<JobChange> changes)
        {
            store.Untrack(key);
            store.Usage.Delete(key, revision);
            changes.Add(new JobChange.Deleted(key, revision));
        }
    }

    private sealed class PrefixDeleteOp(string ns, string app, string prefix) : WriteOp
    {
        public string Namespace => ns;
        public string AppId => app;
        public string Prefix => prefix;
    }

    /// <summary>Wakes the writer for queued progress; nobody awaits it.</summary>
    private sealed class WakeOp : WriteOp;

    private sealed class FlushOp : WriteOp;

    // ---- reads (linearizable: a read sees every write that completed before it) ----------------------------

    public async Task<StoredJob?> GetAsync(JobKey key, CancellationToken cancellationToken = default)
    {
        var response = await ReadAsync(() => Kv.TxnAsync(new TxnRequest
        {
            Success =
            {
                new RequestOp { RequestRange = new RangeRequest { Key = _keys.Job(key) } },
                new RequestOp { RequestRange = new RangeRequest { Key = _keys.Counter(key) } },
            },
        }, deadline: Deadline, cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        var job = response.Responses[0].ResponseRange.Kvs.FirstOrDefault();
        if (job is null) return null;
        return Materialize(job, response.Responses[1].ResponseRange.Kvs.FirstOrDefault());
    }

    public async Task<IReadOnlyList<StoredJob>> ListAsync(string @namespace, string appId, CancellationToken cancellationToken = default)
    {
        var jobs = await ReadRangeAsync(_keys.AppJobs(@namespace, appId), cancellationToken);
        return [.. jobs.Where(j => j.Key.Namespace == @namespace && j.Key.AppId == appId).OrderBy(j => j.Key.Name, StringComparer.Ordinal)];
    }

    public async Task<IReadOnlyList<StoredJob>> ListAllAsync(string? @namespace, string? appId, CancellationToken cancellationToken = default)
    {
        var prefix = string.IsNullOrEmpty(@namespace) ? _keys.Jobs
            : string.IsNullOrEmpty(appId) ? _keys.Jobs + "app||" + @namespace + "||"
            : _keys.AppJobs(@namespace, appId);
        var jobs = await ReadRangeAsync(prefix, cancellationToken);
        return
        [
            .. jobs.Where(j => (string.IsNullOrEmpty(@namespace) || j.Key.Namespace == @namespace) && (string.IsNullOrEmpty(appId) || j.Key.AppId == appId))
                .OrderBy(j => j.Key.Namespace, StringComparer.Ordinal).ThenBy(j => j.Key.AppId, StringComparer.Ordinal).ThenBy(j => j.Key.Name, StringComparer.Ordinal),
        ];
    }

    /// <summary>Every owned job at one revision; changes are held back meanwhile and those the read reflects are skipped.</summary>
    public async IAsyncEnumerable<StoredJob> LoadAsync(Func<ulong, bool> owns, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await _feed.WaitAsync(cancellationToken);
        try
        {
            var (jobs, revision) = await ReadAsync(() => ReadRangeOnceAsync(_keys.Jobs, cancellationToken), cancellationToken);
            // The read saw the whole store at one revision: what the quotas count starts again from it (the watch mends
            // what was written after it).
            Usage.Reset(jobs.Select(j => (j.Key, (long)(j.Data?.Length ?? 0), j.Revision)));
            foreach (var job in jobs)
                if (owns(job.PartitionId)) yield return job;
            _feedFloor = Math.Max(_feedFloor, revision);
        }
        finally
        {
            _feed.Release();
        }
    }

    /// <summary>Every job under the key prefix with its progress, read page by page at one revision.</summary>
    private async Task<List<StoredJob>> ReadRangeAsync(string jobPrefix, CancellationToken cancellationToken) =>
        (await ReadAsync(() => ReadRangeOnceAsync(jobPrefix, cancellationToken), cancellationToken)).Jobs;

    private async Task<(List<StoredJob> Jobs, long Revision)> ReadRangeOnceAsync(string jobPrefix, CancellationToken cancellationToken)
    {
        var jobsKey = ByteString.CopyFromUtf8(jobPrefix);
        var countersKey = ByteString.CopyFromUtf8(_keys.Counters + jobPrefix[_keys.Jobs.Length..]);
        var counters = new Dictionary<string, Mvccpb.KeyValue>(StringComparer.Ordinal);
        var revision = 0L;
        await foreach (var (kv, rev) in RangePagesAsync(countersKey, revision, cancellationToken))
        {
            revision = rev;
            counters[kv.Key.ToStringUtf8()[_keys.Counters.Length..]] = kv;
        }
        var jobs = new List<StoredJob>();
        await foreach (var (kv, rev) in RangePagesAsync(jobsKey, revision, cancellationToken))
        {
            revision = rev;
            counters.TryGetValue(kv.Key.ToStringUtf8()[_keys.Jobs.Length..], out var counter);
            jobs.Add(Materialize(kv, counter));
        }
        if (revision == 0) revision = (await QuorumReadAsync(cancellationToken)).Header.Revision;
        return (jobs, revision);
    }

    private const int PageSize = 1000;

    private async IAsyncEnumerable<(Mvccpb.KeyValue Kv, long Revision)> RangePagesAsync(ByteString prefix, long revision,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var end = EtcdKeys.RangeEnd(prefix);
        var from = prefix;
        while (true)
        {
            var page = await Kv.RangeAsync(new RangeRequest { Key = from, RangeEnd = end, Limit = PageSize, Revision = revision },
                deadline: Deadline, cancellationToken: cancellationToken).ResponseAsync;
            if (revision == 0) revision = page.Header.Revision;
            foreach (var kv in page.Kvs) yield return (kv, revision);
            if (!page.More || page.Kvs.Count == 0) yield break;
            // The next page starts just after the last key read.
            from = ByteString.CopyFrom([.. page.Kvs[^1].Key.Span, 0]);
        }
    }

    private StoredJob Materialize(Mvccpb.KeyValue job, Mvccpb.KeyValue? counter)
    {
        var stored = _keys.Decode(job, counter);
        stored.Revision = job.ModRevision;
        stored.RowId = Track(stored.Key, stored.PartitionId, job.ModRevision);
        return stored;
    }

    // ---- the watch: other replicas' writes -----------------------------------------------------------------

    /// <summary>
    /// Follows every change under the jobs prefix from <paramref name="from"/> on, as Dapr's replicas follow
    /// <c>dapr/jobs/</c>: a job put or deleted through another replica reaches this engine, which takes it if it owns it.
    /// A broken watch resumes after the last revision seen; one compacted past that asks the engine to reload.
    /// </summary>
    private async Task WatchLoopAsync(long from)
    {
        var token = _closing.Token;
        var next = from;
        var prefix = ByteString.CopyFromUtf8(_keys.Jobs);
        while (!token.IsCancellationRequested)
        {
            try
            {
                using var call = _connection!.Watch.Watch(await _connection.StreamHeadersAsync(token), cancellationToken: token);
                await call.RequestStream.WriteAsync(new WatchRequest
                {
                    CreateRequest = new WatchCreateRequest
                    {
                        Key = prefix, RangeEnd = EtcdKeys.RangeEnd(prefix), StartRevision = next, PrevKv = true, ProgressNotify = true,
                    },
                }, token);
                while (await call.ResponseStream.MoveNext(token))
                {
                    var response = call.ResponseStream.Current;
                    if (response.CompactRevision > 0)
                    {
                        // The changes since `next` are gone from etcd's history: start from now and reload instead.
                        LogWatchCompacted(_logger, next, response.CompactRevision);
                        next = (await QuorumReadAsync(token)).Header.Revision + 1;
                        await NotifyWatchedAsync([(new JobChange.Resync(), 0)]);
                        break;
                    }
                    if (response.Canceled) break;
                    var watched = new List<(JobChange Change, long Revision)>(response.Events.Count);
                    foreach (var e in response.Events)
                    {
                        var revision = e.Kv.ModRevision;
                        if (e.Type == Mvccpb.Event.Types.EventType.Put)
                        {
                            var job = Materialize(e.Kv, counter: null);
                            // Counted whether or not the engine hears of it: its own writes were counted as they committed.
                            Usage.Put(job.Key, job.Data?.Length ?? 0, revision);
                            watched.Add((new JobChange.Put(job), revision));
                        }
                        else
                        {
                            // The key, not the previous value, says which job went (a forged value must not hide a deletion).
                            var key = _keys.KeyOf(e.Kv.Key).Key;
                            Usage.Delete(key, revision);
                            if (e.PrevKv is not null)
                            {
                                UntrackIfOlder(key, revision);
                                watched.Add((new JobChange.Deleted(key, revision), revision));
                            }
                        }
                        next = revision + 1;
                    }
                    if (watched.Count > 0) await NotifyWatchedAsync(watched);
                    if (response.Events.Count > 0) Usage.Passed(next - 1);
                    // A progress notification (no events) says every change up to its revision was sent.
                    if (response.Events.Count == 0 && !response.Created) next = Math.Max(next, response.Header.Revision + 1);
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e)
            {
                LogWatchBroken(_logger, e.Message);
            }
            try { await Task.Delay(TimeSpan.FromMilliseconds(500), _time, token); }
            catch (OperationCanceledException) { break; }
        }
    }

    public async ValueTask DisposeAsync()
    {
        _ops.Writer.TryComplete();
        if (_writer is not null) await _writer;
        await _closing.CancelAsync();
        if (_probe is not null) await _probe;
        if (_watch is not null) await _watch;
        _connection?.Dispose();
        _closing.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The etcd password was given with --etcd-client-password, which every local user can read in the process list; use --etcd-client-password-file or {Variable}")]
    private static partial void LogPasswordOnCommandLine(ILogger logger, string variable);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job store on the etcd cluster at {Endpoints}, jobs under {JobPrefix}")]
    private static partial void LogConnected(ILogger logger, string endpoints, string jobPrefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The etcd cluster at {Endpoints} does not answer yet ({Code}: {Detail}); retrying")]
    private static partial void LogConnectRetry(ILogger logger, string endpoints, StatusCode code, string detail);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job store unavailable: {Problem}")]
    private static partial void LogClusterLost(ILogger logger, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "The etcd cluster at {Endpoints} answers again")]
    private static partial void LogClusterBack(ILogger logger, string endpoints);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Committed {Writes} writes, {Progress} progress updates, {Completions} completions")]
    private static partial void LogBatch(ILogger logger, int writes, int progress, int completions);

    [LoggerMessage(Level = LogLevel.Error, Message = "etcd commit of {Writes} writes failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int writes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The watch of the jobs prefix broke ({Reason}); resuming")]
    private static partial void LogWatchBroken(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "etcd compacted the jobs' history past revision {Revision} (to {CompactRevision}); reloading the owned jobs")]
    private static partial void LogWatchCompacted(ILogger logger, long revision, long compactRevision);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job change listener failed")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception);
}
