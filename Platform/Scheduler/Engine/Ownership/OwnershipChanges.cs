using System.Diagnostics;
using System.Runtime.CompilerServices;
using Platform.Scheduler.Limits;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// Changes of what the engine owns: assuming a partition (drop what is held, load the owned jobs afresh), releasing it,
/// and reloading after the store lost track of changes. One change at a time; each takes the engine's lock only to
/// change the parts, never across a store read.
/// </summary>
internal sealed partial class OwnershipChanges(object gate, JobOwnership ownership, TriggerQueue queue, TriggerConsumers consumers,
    IJobStore store, ILogger logger, CancellationToken stopping)
{
    /// <summary>Serializes ownership changes: a reload must not interleave with a release.</summary>
    private readonly SemaphoreSlim _ownershipGate = new(1, 1);

    public async Task AssumeAsync(Partition partition, CancellationToken cancellationToken)
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

    public async Task ReleaseAsync()
    {
        await _ownershipGate.WaitAsync();
        try
        {
            lock (gate)
            {
                ownership.Partition = null;
                DropAll();
            }
            await store.FlushAsync();
        }
        finally
        {
            _ownershipGate.Release();
        }
    }

    /// <summary>Drops what is held and loads <paramref name="partition"/>; the caller holds <see cref="_ownershipGate"/>.</summary>
    private async Task ReloadAsync(Partition partition, CancellationToken cancellationToken)
    {
        lock (gate)
        {
            DropAll();
            ownership.Partition = partition;
        }
        await LoadOwnedAsync(cancellationToken);
    }

    public async Task LoadOwnedAsync(CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        var loaded = 0;
        var withoutCollections = false;
        // Sized once for the expected share: grown by doubling, 1M jobs leave the table 40 % empty and copy it 20 times.
        var stored = (store as IJobStoreUsage)?.StoredJobs ?? 0;
        if (stored > 0 && ownership.Partition is { } share)
        {
            lock (gate)
            {
                ownership.EnsureCapacity(stored / share.Total);
                queue.EnsureCapacity(stored / share.Total);
            }
            if (stored / share.Total >= CompactAfterLoading) withoutCollections = PauseCollections(stored / share.Total);
        }
        var refilled = false;
        try
        {
            (loaded, refilled) = await InstallOwnedAsync(stored, cancellationToken);
        }
        finally
        {
            if (withoutCollections) ResumeCollections();
        }
        LogLoaded(logger, loaded, Stopwatch.GetElapsedTime(started).TotalMilliseconds, ownership.Partition?.ToString() ?? "none");
        if (loaded >= CompactAfterLoading) Compact(loaded, refilled);
    }

    /// <summary>
    /// Reads and installs the owned jobs; what it read is unreachable when it returns, for <see cref="Compact"/>. Refilled:
    /// read through <see cref="IPartedLoad"/>, into one record per part rather than one per job.
    /// </summary>
    private async Task<(int Loaded, bool Refilled)> InstallOwnedAsync(int stored, CancellationToken cancellationToken)
    {
        var loaded = 0;
        // Payloads stay in the store where it can read them back per trigger: 1M jobs' data is over 100 MB held for nothing.
        var deferred = store as IDeferredJobData;
        using var parted = (store as IPartedLoad)?.LoadInParts(ownership.Owns, ReadingThreads, deferData: deferred is not null, stored, cancellationToken);
        var parts = parted?.Parts ?? [deferred?.LoadWithoutDataAsync(ownership.Owns, cancellationToken) ?? store.LoadAsync(ownership.Owns, cancellationToken)];
        await foreach (var batch in LoadPipeline.RunAsync(parts, ownership.NewPreparer, cancellationToken))
        {
            // Install quarantines a job it cannot take; nothing one row holds may stop start-up.
            lock (gate) InstallBatch(batch);
            loaded += batch.Count;
        }
        return (loaded, parted is not null);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void InstallBatch(ArraySegment<PreparedJob> batch)
    {
        foreach (ref readonly var job in batch.AsSpan()) ownership.InstallIfNewer(job);
    }

    /// <summary>Threads reading a large load: installing is a tenth of the work, so every core reads.</summary>
    private static int ReadingThreads => Math.Clamp(Environment.ProcessorCount, 1, 4);

    /// <summary>Bytes a load allocates per stored job, all told (its record, name, the row read, the usage count).</summary>
    private const long LoadBytesPerJob = 640;

    /// <summary>
    /// Almost everything a load allocates lives on (the jobs), so collections during it only copy the jobs from
    /// generation to generation: loading 1M jobs spent a third of its CPU in the collector. With room for the whole
    /// load set aside, nothing is collected until <see cref="Compact"/> packs the jobs once.
    /// </summary>
    private bool PauseCollections(int stored)
    {
        try
        {
            return GC.TryStartNoGCRegion(stored * LoadBytesPerJob);
        }
        catch (Exception e) when (e is ArgumentOutOfRangeException or InvalidOperationException)
        {
            LogNoPause(logger, e.Message);
            return false;
        }
    }

    private void ResumeCollections()
    {
        // The region ends by itself (with a collection) if the load allocated more than it set aside.
        if (System.Runtime.GCSettings.LatencyMode != System.Runtime.GCLatencyMode.NoGCRegion) return;
        try { GC.EndNoGCRegion(); }
        catch (InvalidOperationException) { }
    }

    /// <summary>Loads at least this large are followed by a compacting collection (see <see cref="Compact"/>).</summary>
    internal const int CompactAfterLoading = 100_000;

    /// <summary>
    /// A large load leaves its jobs spread through memory the collector took for the rows read on the way (1M jobs:
    /// ~130 MB of read rows, ~75 MB of it still held by the process long after). One blocking compacting collection,
    /// once, packs the jobs and returns the rest to the system; it pauses the process for a fraction of a second, before
    /// dispatching (re)starts rather than in the middle of it. A load read into refilled records (see
    /// <see cref="IPartedLoad"/>) leaves next to no garbage: one collection that does not compact (0.12 s for 1M jobs,
    /// rather than 0.6 s) moves its jobs to the oldest generation, so that the first collections while dispatching
    /// need not go through all of them.
    /// </summary>
    private void Compact(int loaded, bool refilled)
    {
        var started = Stopwatch.GetTimestamp();
        if (refilled) GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: false);
        else GC.Collect(GC.MaxGeneration, GCCollectionMode.Aggressive, blocking: true, compacting: true);
        LogCompacted(logger, loaded, refilled ? "collected" : "compacted", Stopwatch.GetElapsedTime(started).TotalMilliseconds,
            GC.GetTotalMemory(false) / 1048576.0);
    }

    /// <summary>Forgets every held job; queue entries and staged lists of dropped jobs are skipped as removed.</summary>
    private void DropAll()
    {
        ownership.DropAll();
        queue.Clear();
        consumers.ClearStaged();
    }

    /// <summary>Reloads the owned jobs after the store lost track of changes (nothing, if it owns none by then).</summary>
    public async Task ResyncAsync()
    {
        try
        {
            await _ownershipGate.WaitAsync(stopping);
            try
            {
                if (ownership.Partition is { } partition) await ReloadAsync(partition, stopping);
            }
            finally
            {
                _ownershipGate.Release();
            }
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogResyncFailed(logger, e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loaded {Count} jobs in {Milliseconds} ms (partition {Partition})")]
    private static partial void LogLoaded(ILogger logger, int count, double milliseconds, string partition);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Loading collects garbage as it goes: {Reason}")]
    private static partial void LogNoPause(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "After loading {Count} jobs, memory {How} in {Milliseconds} ms; {HeapMiB:0} MiB in use")]
    private static partial void LogCompacted(ILogger logger, int count, string how, double milliseconds, double heapMiB);

    [LoggerMessage(Level = LogLevel.Error, Message = "Reloading the owned jobs after the store lost track of changes failed")]
    private static partial void LogResyncFailed(ILogger logger, Exception exception);
}
