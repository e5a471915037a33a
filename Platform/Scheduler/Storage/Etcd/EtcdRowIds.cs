namespace Platform.Scheduler.Storage.Etcd;

/// <summary>
/// Row ids for etcd's job keys: etcd has none, so this process hands out its own, each naming a key with the partition
/// id and mod revision last written or read, which a progress write is conditional on. Thread-safe.
/// </summary>
internal sealed class EtcdRowIds
{
    private readonly object _trackGate = new();
    private readonly Dictionary<long, EtcdTracked> _tracked = [];
    private readonly Dictionary<JobKey, long> _rowIds = [];
    private long _lastRowId;

    /// <summary>Forgets the key unless what is known of it is newer than <paramref name="revision"/>.</summary>
    public void UntrackIfOlder(JobKey key, long revision)
    {
        lock (_trackGate)
        {
            if (_rowIds.TryGetValue(key, out var rowId) && (!_tracked.TryGetValue(rowId, out var known) || known.ModRevision < revision))
            {
                _rowIds.Remove(key);
                _tracked.Remove(rowId);
            }
        }
    }

    /// <summary>Returns the key's row id, recording the partition id and revision when they are at least as new as those known.</summary>
    public long Track(JobKey key, ulong partitionId, long modRevision)
    {
        lock (_trackGate)
        {
            if (!_rowIds.TryGetValue(key, out var rowId)) _rowIds[key] = rowId = ++_lastRowId;
            if (!_tracked.TryGetValue(rowId, out var known) || known.ModRevision <= modRevision)
                _tracked[rowId] = new EtcdTracked(key, partitionId, modRevision);
            return rowId;
        }
    }

    public void Untrack(JobKey key)
    {
        lock (_trackGate)
        {
            if (_rowIds.Remove(key, out var rowId)) _tracked.Remove(rowId);
        }
    }

    public bool TryGet(long rowId, ulong partitionId, out EtcdTracked tracked)
    {
        lock (_trackGate) return _tracked.TryGetValue(rowId, out tracked) && tracked.PartitionId == partitionId;
    }
}
