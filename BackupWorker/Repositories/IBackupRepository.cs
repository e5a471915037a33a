namespace BackupWorker.Repositories;

/// <summary>
/// One object-storage repository, named in configuration (<c>Backup:Repositories:&lt;name&gt;</c>). What it stores is
/// compressed, then encrypted when it has a key; its checksum covers the stored bytes.
/// </summary>
public interface IBackupRepository
{
    string Name { get; }

    /// <summary>Kind, container, compression and whether it encrypts: never the key or the connection string.</summary>
    RepositoryDescription Describe();

    /// <summary>
    /// Streams <paramref name="content"/> through compression, encryption and SHA-256 of the stored bytes into the
    /// object <paramref name="key"/>, which becomes visible only once complete: a failed or cancelled put leaves no
    /// object (an earlier object of the same key stays as it was).
    /// </summary>
    /// <exception cref="RepositoryUnavailableException">Storage down, slow, throttled, or credentials wrong.</exception>
    Task<RepositoryObject> PutAsync(string key, Stream content, CancellationToken ct);

    /// <summary>
    /// The original bytes, streamed (download, authenticate and decrypt, decompress). Bytes are handed out only once
    /// their chunk is authenticated; reading to the end throws <see cref="RepositoryContentException"/> on a checksum
    /// or authentication failure and <see cref="RepositoryKeyException"/> on a wrong key.
    /// </summary>
    Task<Stream> OpenReadAsync(string key, CancellationToken ct);

    /// <summary>What the stored object says of itself (from its metadata), or null when there is none.</summary>
    Task<RepositoryObject?> GetAsync(string key, CancellationToken ct);

    /// <summary>
    /// Reads the object end to end and checks it against <paramref name="expected"/>: stored and original size and
    /// SHA-256. Throws as <see cref="OpenReadAsync"/> does, and <see cref="RepositoryContentException"/> when absent.
    /// </summary>
    Task VerifyAsync(string key, RepositoryObject expected, CancellationToken ct);

    /// <summary>Removes the object; an absent one is not an error.</summary>
    Task DeleteAsync(string key, CancellationToken ct);
}
