namespace Platform.Scheduler.Storage;

/// <summary>A store that can lose its backend while the process runs (a remote cluster) says so here; /healthz reports it.</summary>
public interface IStoreHealth
{
    /// <summary>Null while the backend answers; otherwise why it does not.</summary>
    string? Problem { get; }
}
