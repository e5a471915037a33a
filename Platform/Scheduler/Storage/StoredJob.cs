using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Storage;

/// <summary>
/// A job as stored: the strings exactly as submitted, the data <c>Any</c> and failure policy as serialized protobuf,
/// the resolved instants (UTC ticks) and the progress. <see cref="PartitionId"/> is random per creation/overwrite:
/// it decides which replica owns the job and tells a stale progress write from a current one.
/// </summary>
public sealed class StoredJob
{
    public required JobKey Key { get; set; }
    public long RowId { get; set; }
    public required ulong PartitionId { get; set; }
    public string? Schedule { get; internal set; }
    public uint? Repeats { get; internal set; }
    public string? DueTime { get; internal set; }
    public string? Ttl { get; internal set; }
    /// <summary>Serialized google.protobuf.Any, or null when the job has no data.</summary>
    public byte[]? Data { get; internal set; }
    /// <summary>True when <see cref="Data"/> was left in the store and is to be read back when the job fires (see
    /// <see cref="IDeferredJobData"/>); <see cref="Data"/> is then null.</summary>
    public bool DataInStore { get; internal set; }
    /// <summary>Serialized dapr.proto.common.v1.JobFailurePolicy (the default already filled in).</summary>
    public required byte[] FailurePolicy { get; set; }
    public required long Created { get; set; }
    /// <summary><see cref="TickCalculator.None"/> when no due time.</summary>
    public long Due { get; internal set; } = TickCalculator.None;
    /// <summary>long.MaxValue when no ttl.</summary>
    public long Expiration { get; internal set; } = long.MaxValue;
    /// <summary>W3C traceparent of the request that scheduled the job, for linking trigger spans.</summary>
    public string? TraceParent { get; internal set; }
    public string? TraceState { get; internal set; }
    public JobProgress Progress { get; set; } = JobProgress.Initial;
    /// <summary>
    /// The store's version of this definition (etcd's mod revision), or 0 where the store keeps none. Replicas hear of a
    /// change both from their own write and from the store's watch: the version tells a newer definition from an echo.
    /// </summary>
    public long Revision { get; set; }
    /// <summary>Set when the stored row could not be read in full: only the key and ids are then meaningful, and the
    /// engine quarantines the job with this reason.</summary>
    public string? LoadError { get; internal set; }
}
