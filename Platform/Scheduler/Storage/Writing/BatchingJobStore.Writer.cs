namespace Platform.Scheduler.Storage;

// The writer loop: one task that gathers what is waiting into a batch and has the store commit it.
public abstract partial class BatchingJobStore
{
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
}
