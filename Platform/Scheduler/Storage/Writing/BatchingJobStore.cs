using System.Threading.Channels;

namespace Platform.Scheduler.Storage;

/// <summary>
/// The writer every store shares: awaited writes (put, delete, prefix delete, flush) go into one channel, and one
/// writer loop commits whatever is waiting in a single batch (group commit), so many concurrent durable calls share one
/// commit; progress and completions queued by the engine are coalesced per job and ride along, or are committed after
/// a short interval when no awaited write comes. A store supplies how a batch is applied and what a failed one does,
/// and the reads.
/// </summary>
public abstract partial class BatchingJobStore : IJobStore
{
    private readonly Channel<WriteOp> _ops = Channel.CreateUnbounded<WriteOp>(new UnboundedChannelOptions { SingleReader = true });
    private readonly PendingProgress _pending = new();
    private readonly ILogger _logger;
    private readonly TimeSpan _progressFlushInterval;
    private readonly int _maxBatch;
    private readonly bool _refuseBeforeOpen;
    private Action<JobChange> _listener = static _ => { };
    private Task? _writer;
    /// <summary>Completed by each awaited write, so the writer stops waiting for progress to gather (see the writer loop).</summary>
    private TaskCompletionSource _awaitedWrite = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <param name="refuseBeforeOpen">Refuse writes before <see cref="StartWriter"/> (a flush then has nothing to do);
    /// otherwise they wait for the writer.</param>
    private protected BatchingJobStore(ILogger logger, TimeProvider time, TimeSpan progressFlushInterval, int maxBatch, bool refuseBeforeOpen)
    {
        _logger = logger;
        Time = time;
        _progressFlushInterval = progressFlushInterval;
        _maxBatch = maxBatch;
        _refuseBeforeOpen = refuseBeforeOpen;
    }

    private protected TimeProvider Time { get; }

    public void SetChangeListener(Action<JobChange> listener) => _listener = listener;

    public abstract Task OpenAsync(CancellationToken cancellationToken = default);
    public abstract Task<StoredJob?> GetAsync(JobKey key, CancellationToken cancellationToken = default);
    public abstract Task<IReadOnlyList<StoredJob>> ListAsync(string @namespace, string appId, CancellationToken cancellationToken = default);
    public abstract Task<IReadOnlyList<StoredJob>> ListAllAsync(string? @namespace, string? appId, CancellationToken cancellationToken = default);
    public abstract IAsyncEnumerable<StoredJob> LoadAsync(Func<ulong, bool> owns, CancellationToken cancellationToken = default);
    public abstract ValueTask DisposeAsync();

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
        if (_refuseBeforeOpen && _writer is null)
        {
            // Never opened (start-up failed): nothing was queued, so there is nothing to flush.
            if (op is FlushOp) return Task.CompletedTask;
            throw new InvalidOperationException($"The {StoreName} is not open.");
        }
        if (!_ops.Writer.TryWrite(op)) throw new ObjectDisposedException(GetType().Name);
        Volatile.Read(ref _awaitedWrite).TrySetResult();
        return op.Done.Task;
    }

    /// <summary>How messages name this store ("etcd job store").</summary>
    private protected virtual string StoreName => "job store";

    public void EnqueueProgress(in ProgressUpdate update)
    {
        if (_pending.Add(update)) _ops.Writer.TryWrite(new WakeOp());
    }

    public void EnqueueCompletion(long rowId, ulong partitionId)
    {
        if (_pending.Complete(rowId, partitionId)) _ops.Writer.TryWrite(new WakeOp());
    }

    /// <summary>Puts back what a failed commit did not write, unless newer progress of the job was queued meanwhile.</summary>
    private protected void PutBack(IEnumerable<ProgressUpdate> progress, IEnumerable<(long RowId, ulong PartitionId)> completions) =>
        _pending.PutBack(progress, completions);

    /// <summary>Makes the writer look again (put-back progress wakes nobody by itself).</summary>
    private protected void Wake() => _ops.Writer.TryWrite(new WakeOp());

    /// <summary>Tells the engine of committed changes, in commit order; a listener's failure is logged, never thrown.</summary>
    private protected void Report(List<JobChange> changes)
    {
        foreach (var change in changes) Report(change);
    }

    /// <summary>Tells the listener of one change; a listener that throws is logged, never stops the writer or the watch.</summary>
    private protected void Report(JobChange change)
    {
        try { _listener(change); }
        catch (Exception e) { LogListenerFailed(_logger, e); }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Job change listener failed")]
    private static partial void LogListenerFailed(ILogger logger, Exception exception);
}
