using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Limits;

/// <summary>
/// Jobs and bytes of job data in the store, per (namespace, app id) and in all, as the store holds them: not only the
/// jobs this replica fires, so every replica on one store counts the same and a quota holds whichever replica is asked.
/// The store keeps it: from a full read at open, its own writes as they commit, and (etcd) every other replica's
/// writes from its watch. Each key's entry carries the store revision it was seen at, so a late echo of an older write
/// cannot undo a newer one; deletions leave a marker until the watch has passed them.
/// </summary>
public sealed class StoreUsage
{
    private readonly object _gate = new();
    private readonly Dictionary<JobKey, Entry> _keys = [];
    private readonly Dictionary<(string, string), (int Count, long Bytes)> _apps = [];
    private readonly Queue<(long Revision, JobKey Key)> _tombstones = new();
    private int _count;
    private long _bytes;

    /// <summary>16 bytes rather than 24 (one per stored job): a job's data is a byte array, so its size fits an int.</summary>
    [System.Runtime.InteropServices.StructLayout(System.Runtime.InteropServices.LayoutKind.Auto)]
    private readonly record struct Entry(int Bytes, long Revision, bool Live);

    /// <summary>Jobs and bytes the app holds.</summary>
    public (int Count, long Bytes) App(string @namespace, string appId)
    {
        lock (_gate) return _apps.GetValueOrDefault((@namespace, appId));
    }

    /// <summary>Jobs and bytes in the whole store.</summary>
    public (int Count, long Bytes) Total
    {
        get { lock (_gate) return (_count, _bytes); }
    }

    /// <summary>The job's bytes when the store holds it; null when it does not.</summary>
    public long? BytesOf(JobKey key)
    {
        lock (_gate) return _keys.TryGetValue(key, out var e) && e.Live ? e.Bytes : null;
    }

    /// <summary>Records the job as stored with <paramref name="bytes"/> of data at <paramref name="revision"/> (0: a store without revisions).</summary>
    public void Put(JobKey key, long bytes, long revision) => Apply(key, new Entry(checked((int)bytes), revision, Live: true));

    /// <summary>Records the job as deleted at <paramref name="revision"/>.</summary>
    public void Delete(JobKey key, long revision)
    {
        Apply(key, new Entry(0, revision, Live: false));
        if (revision != 0) lock (_gate) _tombstones.Enqueue((revision, key));
    }

    /// <summary>The watch has delivered every change up to <paramref name="revision"/>: deletion markers at or before it can go.</summary>
    public void Passed(long revision)
    {
        lock (_gate)
        {
            while (_tombstones.TryPeek(out var t) && t.Revision <= revision)
            {
                _tombstones.Dequeue();
                if (_keys.TryGetValue(t.Key, out var e) && !e.Live && e.Revision <= revision) _keys.Remove(t.Key);
            }
        }
    }

    /// <summary>Replaces everything with what one full read of the store found.</summary>
    public void Reset(IEnumerable<(JobKey Key, long Bytes, long Revision)> jobs)
    {
        lock (_gate)
        {
            _keys.Clear();
            _apps.Clear();
            _tombstones.Clear();
            _count = 0;
            _bytes = 0;
            if (jobs.TryGetNonEnumeratedCount(out var count)) _keys.EnsureCapacity(count);
            foreach (var (key, bytes, revision) in jobs) ApplyLocked(key, new Entry(checked((int)bytes), revision, Live: true));
        }
    }

    private void Apply(JobKey key, Entry entry)
    {
        lock (_gate) ApplyLocked(key, entry);
    }

    private void ApplyLocked(JobKey key, Entry entry)
    {
        if (_keys.TryGetValue(key, out var old))
        {
            if (entry.Revision != 0 && old.Revision > entry.Revision) return;
            if (old.Live) Change(key, -1, -old.Bytes);
        }
        if (entry.Live) Change(key, 1, entry.Bytes);
        if (entry.Live || entry.Revision != 0) _keys[key] = entry;
        else _keys.Remove(key);
    }

    private void Change(JobKey key, int count, long bytes)
    {
        var app = (key.Namespace, key.AppId);
        var c = _apps.GetValueOrDefault(app);
        c = (c.Count + count, c.Bytes + bytes);
        if (c.Count <= 0) _apps.Remove(app);
        else _apps[app] = c;
        _count += count;
        _bytes += bytes;
    }
}
