using Etcdserverpb;
using Google.Protobuf;
using Grpc.Core;

namespace Platform.Scheduler.Storage.Etcd;

// The writes: a batch from the BatchingJobStore writer committed in as few etcd transactions as etcd's limits allow,
// and this store's own changes reported in revision order with those the watch brings.
public sealed partial class EtcdJobStore
{
    // One batch's bookkeeping, for RecoverAsync: how far CommitAsync got before it failed.
    private List<Queued> _queued = [];
    private int _committedOps;
    private int _committedQueued;

    private protected override string StoreName => "etcd job store";

    private protected override async Task CommitAsync(List<WriteOp> batch, Dictionary<long, ProgressUpdate> progress,
        List<(long RowId, ulong PartitionId)> completions)
    {
        _committedOps = 0;
        _committedQueued = 0;
        _queued = new List<Queued>(progress.Count + completions.Count);
        foreach (var p in progress.Values) _queued.Add(new Queued(p.RowId, p.PartitionId, p.Progress, Completion: false));
        foreach (var (rowId, partition) in completions) _queued.Add(new Queued(rowId, partition, default, Completion: true));
        await CommitBatchAsync(batch, _queued, () => _committedOps++, () => _committedQueued++);
        _writeProblem = null;
        if (batch.Count > 1 || _queued.Count > 0) LogBatch(_logger, batch.Count, progress.Count, completions.Count);
    }

    private protected override async Task<bool> RecoverAsync(List<WriteOp> batch, Dictionary<long, ProgressUpdate> progress,
        List<(long RowId, ulong PartitionId)> completions, Exception e, bool open)
    {
        _writeProblem = $"the etcd cluster at {Endpoints} refused or did not answer a write ({(e as RpcException)?.Status.StatusCode.ToString() ?? e.GetType().Name}: {(e as RpcException)?.Status.Detail ?? e.Message})";
        LogCommitFailed(_logger, e, batch.Count - _committedOps);
        // A leader election or a member going away is transient: such writes are tried again for a while
        // (a put that did land is recognized by its value); anything else fails its callers now.
        var transient = EtcdRetry.IsTransient(e);
        var giveUp = _time.GetUtcNow() - _options.WriteRetryWindow;
        var kept = new List<WriteOp>();
        foreach (var op in batch.Skip(_committedOps))
        {
            if (transient && op.FirstTried > giveUp) kept.Add(op);
            else op.Done.TrySetException(e);
        }
        batch.Clear();
        batch.AddRange(kept);
        // Progress is not lost: what was not committed goes back, unless newer progress was queued meanwhile.
        var notDone = _queued.Skip(_committedQueued).ToList();
        PutBack(notDone.Where(q => !q.Completion).Select(q => new ProgressUpdate(q.RowId, q.PartitionId, q.Progress)),
            notDone.Where(q => q.Completion).Select(q => (q.RowId, q.PartitionId)));
        if (!open)
        {
            // Closing with the cluster away: callers get the error rather than a wait that never ends.
            foreach (var op in batch) op.Done.TrySetException(e);
            batch.Clear();
            return false;
        }
        try { await Task.Delay(TimeSpan.FromMilliseconds(500), _time, _closing.Token); }
        catch (OperationCanceledException) { }
        // Put-back progress wakes nobody by itself (a wake is sent only for the first queued update): try again.
        Wake();
        return true;
    }

    private readonly record struct Queued(long RowId, ulong PartitionId, JobProgress Progress, bool Completion);

    /// <summary>
    /// Commits the awaited writes in order, then the queued progress and completions, in as few transactions as
    /// etcd's limits allow. A transaction never names a key twice (etcd refuses that): a second write of a key starts the next.
    /// </summary>
    private async Task CommitBatchAsync(List<WriteOp> batch, List<Queued> queued, Action opCommitted, Action queuedCommitted)
    {
        var txn = new EtcdTxnBuilder(_options);
        foreach (var op in batch)
        {
            if (op is PrefixDeleteOp prefix)
            {
                await txn.CommitAsync(this);
                txn = new EtcdTxnBuilder(_options);
                await DeletePrefixAsync(prefix);
                opCommitted();
                continue;
            }
            var (keys, ops, bytes) = EtcdWriteOps.Shape(op, _keys);
            if (!txn.Fits(keys, ops, bytes))
            {
                await txn.CommitAsync(this);
                txn = new EtcdTxnBuilder(_options);
            }
            txn.Add(op, keys, ops, bytes, _keys, opCommitted);
        }
        foreach (var q in queued)
        {
            if (!_rowIds.TryGet(q.RowId, q.PartitionId, out var tracked))
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
                txn = new EtcdTxnBuilder(_options);
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
                    _rowIds.Untrack(key);
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
        foreach (var name in names) _rowIds.Untrack(new JobKey(op.Namespace, op.AppId, name));
        if (names.Count > 0) await NotifyOwnAsync([new JobChange.PrefixDeleted(op.Namespace, op.AppId, names)], revisions);
        op.Done.TrySetResult();
    }

    /// <summary>
    /// Reports this store's own writes, committed at <paramref name="revisions"/>, before their callers hear back (unless a
    /// reload or the watch already reported them); the watch then skips them. Only revisions the writes created may be
    /// given: a transaction that wrote nothing answers with the cluster's current revision, another replica's write,
    /// which the watch would then skip as ours and the engine never hear of.
    /// </summary>
    internal async Task NotifyOwnAsync(List<JobChange> changes, IReadOnlyCollection<long> revisions)
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
                Report(change);
            }
        }
        finally
        {
            _feed.Release();
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Committed {Writes} writes, {Progress} progress updates, {Completions} completions")]
    private static partial void LogBatch(ILogger logger, int writes, int progress, int completions);

    [LoggerMessage(Level = LogLevel.Error, Message = "etcd commit of {Writes} writes failed")]
    private static partial void LogCommitFailed(ILogger logger, Exception exception, int writes);
}
