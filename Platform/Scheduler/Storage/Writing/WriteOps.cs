namespace Platform.Scheduler.Storage;

// The operations a BatchingJobStore's writer applies, in submission order; each store decides how.

/// <summary>One write a caller awaits (or a wake-up nobody awaits), completed once the writer has applied it.</summary>
internal abstract class WriteOp
{
    public TaskCompletionSource Done { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    public Exception? Error { get; set; }
    /// <summary>When the writer first tried it; a write kept back by a transient failure is retried for a while from then.</summary>
    public DateTimeOffset? FirstTried { get; set; }
}

internal sealed class PutOp(StoredJob job, bool overwrite) : WriteOp
{
    public StoredJob Job => job;
    public bool Overwrite => overwrite;
    /// <summary>False when the name existed and <see cref="Overwrite"/> was not asked for.</summary>
    public bool Stored { get; set; }
    /// <summary>The store's encoding of the job, made once however often a batch is tried.</summary>
    public object? Encoded { get; set; }
}

internal sealed class DeleteOp(JobKey key) : WriteOp
{
    public JobKey Key => key;
}

internal sealed class PrefixDeleteOp(string ns, string app, string prefix) : WriteOp
{
    public string Namespace => ns;
    public string AppId => app;
    public string Prefix => prefix;
}

/// <summary>Wakes the writer for queued progress; nobody awaits it.</summary>
internal sealed class WakeOp : WriteOp;

internal sealed class FlushOp : WriteOp;
