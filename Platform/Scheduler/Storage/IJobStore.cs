namespace Platform.Scheduler.Storage;

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
