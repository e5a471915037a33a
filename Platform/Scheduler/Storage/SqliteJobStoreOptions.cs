namespace Platform.Scheduler.Storage;

public sealed class SqliteJobStoreOptions
{
    /// <summary>How long queued progress may wait for a commit when no awaited write comes along.</summary>
    public TimeSpan ProgressFlushInterval { get; set; } = TimeSpan.FromMilliseconds(50);
    /// <summary>Most awaited writes in one transaction.</summary>
    public int MaxBatch { get; set; } = 8192;
    /// <summary>SQLite synchronous mode: FULL survives power loss; NORMAL survives process crashes only.</summary>
    public string Synchronous { get; set; } = "FULL";
}
