using System.Runtime.CompilerServices;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Limits;

/// <summary>
/// Jobs and bytes of job data in the store, per (namespace, app id) and in all, as the store holds them: not only the
/// jobs this replica fires, so every replica on one store counts the same and a quota holds whichever replica is asked.
/// The store keeps it: from a full read at open, its own writes as they commit, and (etcd) every other replica's
/// writes from its watch. In a store with revisions each key's entry carries the revision it was seen at, so a late echo
/// of an older write cannot undo a newer one, and deletions leave a marker until the watch has passed them. A store
/// without revisions (SQLite: one writer, no watch) keeps each job's bytes alone.
/// </summary>
/// <param name="revisions">Whether the store gives its writes revisions; without, every revision passed must be 0.</param>
public sealed class StoreUsage(bool revisions = true)
{
    private readonly object _gate = new();
    private readonly bool _revisions = revisions;
    // Per app, its jobs by name: keyed by the whole key, every entry would hold the namespace and app id again
    // (1M jobs: 48 rather than 32 bytes an entry).
    private readonly Dictionary<(string, string), AppUsage> _apps = [];
    private readonly Queue<(long Revision, JobKey Key)> _tombstones = new();
    private int _count;
    private long _bytes;

    /// <summary>Jobs and bytes the app holds.</summary>
    public (int Count, long Bytes) App(string @namespace, string appId)
    {
        lock (_gate) return _apps.TryGetValue((@namespace, appId), out var app) && app.Count > 0 ? (app.Count, app.Bytes) : default;
    }

    /// <summary>Jobs and bytes in the whole store.</summary>
    public (int Count, long Bytes) Total
    {
        get { lock (_gate) return (_count, _bytes); }
    }

    /// <summary>The job's bytes when the store holds it; null when it does not.</summary>
    public long? BytesOf(JobKey key)
    {
        lock (_gate)
            return _apps.TryGetValue((key.Namespace, key.AppId), out var app) && app.Jobs.TryGet(key.Name, out var e) && e.Live ? e.Bytes : null;
    }

    /// <summary>Records the job as stored with <paramref name="bytes"/> of data at <paramref name="revision"/> (0: a store without revisions).</summary>
    public void Put(JobKey key, long bytes, long revision) => Apply(key, new UsageEntry(checked((int)bytes), Revised(revision), Live: true));

    /// <summary>Records the job as deleted at <paramref name="revision"/>.</summary>
    public void Delete(JobKey key, long revision)
    {
        Apply(key, new UsageEntry(0, Revised(revision), Live: false));
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
                if (_apps.TryGetValue((t.Key.Namespace, t.Key.AppId), out var app) && app.Jobs.TryGet(t.Key.Name, out var e)
                    && !e.Live && e.Revision <= revision)
                {
                    app.Jobs.Remove(t.Key.Name);
                    if (app.Jobs.Count == 0) _apps.Remove((t.Key.Namespace, t.Key.AppId));
                }
            }
        }
    }

    /// <summary>
    /// Replaces everything with what one full read of the store found; <paramref name="expectedJobs"/>, when known, sizes
    /// the table of the first app (typically most of them) once rather than by doubling.
    /// </summary>
    public void Reset(IEnumerable<(JobKey Key, long Bytes, long Revision)> jobs, int expectedJobs = 0)
    {
        lock (_gate)
        {
            _apps.Clear();
            _tombstones.Clear();
            _count = 0;
            _bytes = 0;
            // Rows come app by app: the app of the row before is reused without a lookup while it lasts.
            var last = new LastApp();
            foreach (var (key, bytes, revision) in jobs) AddLocked(ref last, key, bytes, Revised(revision), expectedJobs);
            // Grown by doubling, a table is up to twice the size it needs; it stays as large as the store was at open.
            foreach (var app in _apps.Values) app.Jobs.TrimExcess();
        }
    }

    /// <summary>
    /// Adds what a part of one full read of the store found, to a count that is to take the place of another (see
    /// <see cref="ReplaceWith"/>); the parts of a read may add from several threads at once.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public void AddRead(ReadOnlySpan<(JobKey Key, long Bytes)> jobs, int expectedJobs)
    {
        lock (_gate)
        {
            var last = new LastApp();
            foreach (var (key, bytes) in jobs) AddLocked(ref last, key, bytes, 0, expectedJobs);
        }
    }

    /// <summary>Takes what <paramref name="read"/> counted (see <see cref="AddRead"/>) in place of everything held.</summary>
    public void ReplaceWith(StoreUsage read)
    {
        if (read._revisions != _revisions) throw new ArgumentException("a count with revisions cannot take the place of one without, or the other way", nameof(read));
        lock (read._gate)
        lock (_gate)
        {
            _apps.Clear();
            foreach (var (scope, app) in read._apps) _apps[scope] = app;
            _tombstones.Clear();
            _count = read._count;
            _bytes = read._bytes;
        }
    }

    private long Revised(long revision) =>
        revision == 0 || _revisions ? revision : throw new ArgumentOutOfRangeException(nameof(revision), revision, "this store has no revisions");

    private struct LastApp
    {
        public AppUsage? App;
        public string? Namespace, AppId;
    }

    /// <summary>One app's jobs (live ones and deletion markers) and its live count and bytes.</summary>
    private sealed class AppUsage(bool revisions)
    {
        public readonly UsageEntries Jobs = new(revisions);
        public int Count;
        public long Bytes;
    }

    /// <summary>Reset's step: ApplyLocked for a live entry, with one lookup rather than two (1M rows spent a tenth of the
    /// load in the two).</summary>
    private void AddLocked(ref LastApp last, JobKey key, long bytes, long revision, int expectedJobs)
    {
        if (last.App is null || !ReferenceEquals(last.Namespace, key.Namespace) || !ReferenceEquals(last.AppId, key.AppId))
        {
            last.App = AppOf(key, create: true)!;
            if (_apps.Count == 1) last.App.Jobs.EnsureCapacity(expectedJobs);
            (last.Namespace, last.AppId) = (key.Namespace, key.AppId);
        }
        if (last.App.Jobs.AddLive(key.Name, checked((int)bytes), revision) is { } replaced)
        {
            if (replaced.Live) Change(last.App, -1, -replaced.Bytes);
            Change(last.App, 1, bytes);
        }
    }

    private void Apply(JobKey key, UsageEntry entry)
    {
        lock (_gate)
        {
            if (AppOf(key, create: entry.Live || entry.Revision != 0) is { } app) ApplyLocked(app, key, entry);
        }
    }

    private AppUsage? AppOf(JobKey key, bool create)
    {
        if (_apps.TryGetValue((key.Namespace, key.AppId), out var app) || !create) return app;
        _apps[(key.Namespace, key.AppId)] = app = new AppUsage(_revisions);
        return app;
    }

    private void ApplyLocked(AppUsage app, JobKey key, UsageEntry entry)
    {
        if (app.Jobs.TryGet(key.Name, out var old))
        {
            if (entry.Revision != 0 && old.Revision > entry.Revision) return;
            if (old.Live) Change(app, -1, -old.Bytes);
        }
        if (entry.Live) Change(app, 1, entry.Bytes);
        if (entry.Live || entry.Revision != 0) app.Jobs.Set(key.Name, entry);
        else app.Jobs.Remove(key.Name);
        if (app.Jobs.Count == 0) _apps.Remove((key.Namespace, key.AppId));
    }

    private void Change(AppUsage app, int count, long bytes)
    {
        app.Count += count;
        app.Bytes += bytes;
        _count += count;
        _bytes += bytes;
    }
}
