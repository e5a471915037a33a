using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// A load in two stages: readers on threads of their own (one per part of the store's rows, see <see cref="IPartedLoad"/>)
/// step through the rows and make each into the engine's record (<see cref="JobPreparer"/>), while the caller installs
/// them under the engine's lock. Loading 1M jobs on one thread kept one of two cores busy for 3.7 s; nine tenths of it
/// was the reading. Jobs are handed over in batches, so the
/// hand-over costs next to nothing per job and the lock is taken once per batch; a few batches ahead at most, so a
/// slow installer holds back the reader rather than memory filling with read rows.
/// </summary>
internal static class LoadPipeline
{
    internal const int BatchSize = 2048;
    private const int BatchesAhead = 4;

    /// <summary>
    /// The prepared jobs, batch by batch, each part's in its order. A reader's failure is thrown here, after the batches
    /// read before it; when the caller stops early (its own failure, cancellation), the readers are stopped and awaited,
    /// so nothing of the load runs on after this ends.
    /// </summary>
    public static async IAsyncEnumerable<ArraySegment<PreparedJob>> RunAsync(IReadOnlyList<IAsyncEnumerable<StoredJob>> parts,
        Func<JobPreparer> newPreparer, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var channel = Channel.CreateBounded<ArraySegment<PreparedJob>>(new BoundedChannelOptions(BatchesAhead * parts.Count) { SingleReader = true });
        // Installed batches go back to the readers: ~500 arrays of 32 KB for 1M jobs would be garbage otherwise.
        var spare = new ConcurrentQueue<PreparedJob[]>();
        var reading = parts.Count;
        // Threads of their own: the SQLite store reads synchronously, and seconds of it would hold pool threads.
        var readers = parts.Select(part => Task.Factory.StartNew(() =>
        {
            try { Read(part, newPreparer(), channel.Writer, spare, stop.Token); }
            catch (Exception)
            {
                stop.Cancel(); // the other parts are of no use without this one
                throw;
            }
            finally
            {
                if (Interlocked.Decrement(ref reading) == 0) channel.Writer.Complete();
            }
        }, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default)).ToList();
        var finished = false;
        try
        {
            await foreach (var batch in channel.Reader.ReadAllAsync(cancellationToken))
            {
                yield return batch;
                Array.Clear(batch.Array!, 0, batch.Count);
                spare.Enqueue(batch.Array!);
            }
            finished = true;
        }
        finally
        {
            if (!finished)
            {
                await stop.CancelAsync();
                try { await Task.WhenAll(readers); }
                catch (Exception) { } // the caller's own failure or cancellation is what is thrown
            }
        }
        // The readers complete the channel however they end: a failure surfaces here, rather than the others' stopping.
        var failed = readers.FirstOrDefault(r => r.IsFaulted && r.Exception!.InnerException is not OperationCanceledException)
            ?? readers.FirstOrDefault(r => !r.IsCompletedSuccessfully);
        if (failed is not null) await failed;
    }

    // This and the other per-row steps of a load (the row reader, the usage count, the installer) run once, over every
    // row: compiled optimized at once, they skip the profiling tier, whose counts held 3-4 MiB after a 1M-job load.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Read(IAsyncEnumerable<StoredJob> jobs, JobPreparer preparer, ChannelWriter<ArraySegment<PreparedJob>> writer,
        ConcurrentQueue<PreparedJob[]> spare, CancellationToken cancellationToken)
    {
        var rows = jobs.GetAsyncEnumerator(cancellationToken);
        try
        {
            var batch = spare.TryDequeue(out var first) ? first : new PreparedJob[BatchSize];
            var count = 0;
            while (Wait(rows.MoveNextAsync()))
            {
                batch[count++] = preparer.Prepare(rows.Current);
                if (count < BatchSize) continue;
                Hand(writer, new ArraySegment<PreparedJob>(batch, 0, count), cancellationToken);
                batch = spare.TryDequeue(out var reused) ? reused : new PreparedJob[BatchSize];
                count = 0;
            }
            if (count > 0) Hand(writer, new ArraySegment<PreparedJob>(batch, 0, count), cancellationToken);
        }
        finally
        {
            Wait(rows.DisposeAsync());
        }
    }

    private static void Hand(ChannelWriter<ArraySegment<PreparedJob>> writer, ArraySegment<PreparedJob> batch, CancellationToken cancellationToken)
    {
        if (!writer.TryWrite(batch)) Wait(writer.WriteAsync(batch, cancellationToken));
    }

    // This thread is the reader's own: it waits for the store (a SQLite read never does) and for room in the channel.
    private static T Wait<T>(ValueTask<T> task) => task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();

    private static void Wait(ValueTask task)
    {
        if (task.IsCompletedSuccessfully) return;
        task.AsTask().GetAwaiter().GetResult();
    }
}
