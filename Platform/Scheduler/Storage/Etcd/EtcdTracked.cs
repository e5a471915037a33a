namespace Platform.Scheduler.Storage.Etcd;

/// <summary>A job key this process knows, with the partition id and mod revision last written or read.</summary>
internal readonly record struct EtcdTracked(JobKey Key, ulong PartitionId, long ModRevision);
