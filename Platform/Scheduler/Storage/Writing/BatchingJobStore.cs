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

    // ---- queued writes -----------------------------------------------------------------------------------

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

    // ---- the writer ----------------------------------------------------------------------------------------

    private protected void StartWriter() => _writer = Task.Run(WriterLoopAsync, CancellationToken.None);

    /// <summary>Refuses further writes and waits for the writer to commit what it holds.</summary>
    private protected async Task StopWriterAsync()
    {
        _ops.Writer.TryComplete();
        // Queued progress is committed now, not after the rest of its gathering interval.
        Volatile.Read(ref _awaitedWrite).TrySetResult();
        if (_writer is not null) await _writer;
    }

    /// <summary>Called on the writer before its first batch (e.g. to open its connection).</summary>
    private protected virtual void WriterStarting() { }

    /// <summary>Called on the writer once it has ended, however it ended.</summary>
    private protected virtual void WriterStopped() { }

    /// <summary>
    /// Applies the awaited writes in order, then the queued progress and completions, and completes each op (with its
    /// error where only that op failed). Throws when the batch as a whole failed.
    /// </summary>
    private protected abstract Task CommitAsync(List<WriteOp> batch, Dictionary<long, ProgressUpdate> progress,
        List<(long RowId, ulong PartitionId)> completions);

    /// <summary>
    /// After <see cref="CommitAsync"/> threw: fails the ops that will not be tried again and leaves in
    /// <paramref name="batch"/> those that will, puts back the progress not written, and waits before the next try.
    /// False ends the writer (it was closing).
    /// </summary>
    private protected abstract Task<bool> RecoverAsync(List<WriteOp> batch, Dictionary<long, ProgressUpdate> progress,
        List<(long RowId, ulong PartitionId)> completions, Exception error, bool open);

    private async Task WriterLoopAsync()
    {
        WriterStarting();
        try
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
                else
                {
                    // A write submitted from now on completes this one; a write submitted before is already in the
                    // channel, where the peek below finds it. (Waiting on the one this replaces missed a write that
                    // came between the exchange and the peek: it completed this one, and the wait ran its interval.)
                    // A full fence, so the peek cannot be read before the new one is seen by writers.
                    var awaited = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    Interlocked.Exchange(ref _awaitedWrite, awaited);
                    while (reader.TryPeek(out var first) && first is WakeOp) reader.TryRead(out _);
                    if (!reader.TryPeek(out _) && !reader.Completion.IsCompleted) await GatherProgressAsync(awaited.Task);
                }

                while (batch.Count < _maxBatch && reader.TryRead(out var op)) batch.Add(op);
                var now = Time.GetUtcNow();
                foreach (var op in batch) op.FirstTried ??= now;

                var (progress, completions) = _pending.Take();
                if (batch.Count == 0 && progress.Count == 0 && completions.Count == 0)
                {
                    if (!open) break;
                    continue;
                }

                try
                {
                    await CommitAsync(batch, progress, completions);
                    batch.Clear();
                }
                catch (Exception e)
                {
                    if (!await RecoverAsync(batch, progress, completions, e, open)) break;
                }
            }
        }
        finally
        {
            WriterStopped();
        }
    }

    /// <summary>
    /// Only queued progress is waiting: lets more gather so one commit carries many ticks, but not at the cost of an
    /// awaited write (a ScheduleJob, a delete), which ends the wait: its caller would otherwise wait the interval too.
    /// </summary>
    private async Task GatherProgressAsync(Task awaitedWrite)
    {
        using var stop = new CancellationTokenSource();
        var interval = Task.Delay(_progressFlushInterval, Time, stop.Token);
        await Task.WhenAny(interval, awaitedWrite);
        await stop.CancelAsync();
    }

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
