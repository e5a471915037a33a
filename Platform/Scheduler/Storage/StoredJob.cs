using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage;

/// <summary>A job's identity: (namespace, app id, name). Renders as Dapr's internal key.</summary>
public readonly record struct JobKey(string Namespace, string AppId, string Name)
{
    public override string ToString() => $"app||{Namespace}||{AppId}||{Name}";
}

/// <summary>How the last attempt of a job ended, as kept with its progress.</summary>
public enum JobResultKind : byte
{
    None = 0,
    Success = 1,
    Failed = 2,
}

/// <summary>A job's progress. <see cref="LastTrigger"/> is the scheduled time (UTC ticks) of the last completed tick, or <see cref="TickCalculator.None"/>.</summary>
public readonly record struct JobProgress(uint Count, long LastTrigger, uint Attempts, JobResultKind LastResult)
{
    public static readonly JobProgress Initial = new(0, TickCalculator.None, 0, JobResultKind.None);
}

/// <summary>A progress write for the batch writer, conditional on the job not having been replaced (partition id).</summary>
public readonly record struct ProgressUpdate(long RowId, ulong PartitionId, JobProgress Progress);

/// <summary>
/// A job as stored: the strings exactly as submitted, the data <c>Any</c> and failure policy as serialized protobuf,
/// the resolved instants (UTC ticks) and the progress. <see cref="PartitionId"/> is random per creation/overwrite:
/// it decides which replica owns the job and tells a stale progress write from a current one.
/// </summary>
public sealed class StoredJob
{
    public required JobKey Key { get; init; }
    public long RowId { get; set; }
    public required ulong PartitionId { get; init; }
    public string? Schedule { get; init; }
    public uint? Repeats { get; init; }
    public string? DueTime { get; init; }
    public string? Ttl { get; init; }
    /// <summary>Serialized google.protobuf.Any, or null when the job has no data.</summary>
    public byte[]? Data { get; init; }
    /// <summary>Serialized dapr.proto.common.v1.JobFailurePolicy (the default already filled in).</summary>
    public required byte[] FailurePolicy { get; init; }
    public required long Created { get; init; }
    /// <summary><see cref="TickCalculator.None"/> when no due time.</summary>
    public long Due { get; init; } = TickCalculator.None;
    /// <summary>long.MaxValue when no ttl.</summary>
    public long Expiration { get; init; } = long.MaxValue;
    /// <summary>W3C traceparent of the request that scheduled the job, for linking trigger spans.</summary>
    public string? TraceParent { get; init; }
    public string? TraceState { get; init; }
    public JobProgress Progress { get; set; } = JobProgress.Initial;
    /// <summary>
    /// The store's version of this definition (etcd's mod revision), or 0 where the store keeps none. Replicas hear of a
    /// change both from their own write and from the store's watch: the version tells a newer definition from an echo.
    /// </summary>
    public long Revision { get; set; }
    /// <summary>Set when the stored row could not be read in full: only the key and ids are then meaningful, and the
    /// engine quarantines the job with this reason.</summary>
    public string? LoadError { get; init; }
}

/// <summary>A committed change that did not come from the engine itself, delivered in commit order.</summary>
public abstract record JobChange
{
    public sealed record Put(StoredJob Job) : JobChange;
    /// <summary>The job is gone as of <paramref name="Revision"/> (0 where the store keeps no versions).</summary>
    public sealed record Deleted(JobKey Key, long Revision = 0) : JobChange;
    public sealed record PrefixDeleted(string Namespace, string AppId, IReadOnlyList<string> Names) : JobChange;
    /// <summary>The store lost track of changes (etcd compacted past its watch): reload the owned jobs.</summary>
    public sealed record Resync : JobChange;
}

/// <summary>
/// Durable job storage. Writes the caller awaits (put, delete) are durable when they complete; progress and
/// completions are queued and committed in batches. Committed puts and deletes are reported, in commit order, to
/// the change listener so every replica's engine sees the same sequence.
/// </summary>
public interface IJobStore : IAsyncDisposable
{
    /// <summary>Must be set before <see cref="OpenAsync"/>; called on the writer, keep it short.</summary>
    void SetChangeListener(Action<JobChange> listener);

    Task OpenAsync(CancellationToken cancellationToken = default);

    /// <summary>Stores the job. Returns false (and stores nothing) when it exists and <paramref name="overwrite"/> is false.
    /// An overwrite resets progress. Sets <see cref="StoredJob.RowId"/>.</summary>
    Task<bool> PutAsync(StoredJob job, bool overwrite, CancellationToken cancellationToken = default);

    Task<StoredJob?> GetAsync(JobKey key, CancellationToken cancellationToken = default);

    /// <summary>Jobs of one (namespace, app id), ordered by name byte-wise.</summary>
    Task<IReadOnlyList<StoredJob>> ListAsync(string @namespace, string appId, CancellationToken cancellationToken = default);

    /// <summary>Every job, optionally narrowed, ordered by (namespace, app id, name).</summary>
    Task<IReadOnlyList<StoredJob>> ListAllAsync(string? @namespace, string? appId, CancellationToken cancellationToken = default);

    /// <summary>Deletes the job if present.</summary>
    Task DeleteAsync(JobKey key, CancellationToken cancellationToken = default);

    /// <summary>Deletes every job of the (namespace, app id) whose name starts with the prefix ("" = all).</summary>
    Task DeleteByPrefixAsync(string @namespace, string appId, string prefix, CancellationToken cancellationToken = default);

    /// <summary>Every stored job whose partition id satisfies <paramref name="owns"/>, with its progress.</summary>
    IAsyncEnumerable<StoredJob> LoadAsync(Func<ulong, bool> owns, CancellationToken cancellationToken = default);

    /// <summary>Queues a progress write (coalesced per job, committed with the next batch).</summary>
    void EnqueueProgress(in ProgressUpdate update);

    /// <summary>Queues the deletion of a finished job, unless it was replaced meanwhile.</summary>
    void EnqueueCompletion(long rowId, ulong partitionId);

    /// <summary>Commits everything queued so far.</summary>
    Task FlushAsync(CancellationToken cancellationToken = default);
}
