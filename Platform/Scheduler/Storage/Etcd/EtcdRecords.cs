using System.Text.Json.Serialization;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>A job as its value under &lt;prefix&gt;/jobs/: JSON, so an operator's <c>etcdctl get</c> can read it.</summary>
internal sealed record EtcdJobRecord(
    string Namespace, string AppId, string Name, ulong PartitionId,
    string? Schedule, uint? Repeats, string? DueTime, string? Ttl,
    byte[]? Data, byte[] FailurePolicy, long Created, long? Due, long? Expiration,
    string? TraceParent, string? TraceState);

/// <summary>
/// A job's progress under &lt;prefix&gt;/counters/. It names the partition id of the job it counts for, as Dapr's counter
/// does, so a job created again under the same name never inherits an older job's count.
/// </summary>
internal sealed record EtcdCounterRecord(ulong JobPartitionId, uint Count, long? LastTrigger, uint Attempts, JobResultKind LastResult);

/// <summary>
/// A replica's leadership key under &lt;prefix&gt;/leadership/&lt;replica id&gt;, held under its lease: the partition total it
/// agrees to, a random id of the process holding the key, and the address sidecars dial it at.
/// </summary>
internal sealed record EtcdLeadershipRecord(uint Total, ulong Uid, string Address);

[JsonSerializable(typeof(EtcdJobRecord))]
[JsonSerializable(typeof(EtcdLeadershipRecord))]
[JsonSerializable(typeof(EtcdCounterRecord))]
[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull, UseStringEnumConverter = true)]
internal sealed partial class EtcdRecordJson : JsonSerializerContext;
