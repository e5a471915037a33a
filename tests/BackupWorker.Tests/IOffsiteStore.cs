namespace BackupWorker.Tests;

/// <summary>The object store behind <see cref="OffsiteEngine"/>'s repository <c>offsite</c>, as the flow tests use it.</summary>
public interface IOffsiteStore
{
    /// <summary>The configuration of <c>offsite</c> in <paramref name="container"/> (kind, endpoint, credentials); the engine adds the rest.</summary>
    IReadOnlyDictionary<string, string?> Settings(string container);

    /// <summary>The store ends at once, as an outage ends it.</summary>
    Task KillAsync();

    /// <summary>The store is back, on the same port and data.</summary>
    Task StartAsync();

    /// <summary>Flips one byte in the middle of the stored bytes of <paramref name="key"/>, behind the repository's back.</summary>
    Task CorruptAsync(string container, string key);
}
