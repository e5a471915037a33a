namespace Platform.Scheduler.Storage;

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
