namespace BackupWorker.Repositories;

/// <summary>
/// One stored object: its size and SHA-256 as stored (compressed, encrypted) and as the original bytes.
/// <paramref name="StoredSha256"/> and <paramref name="OriginalSha256"/> are lower-case hex.
/// </summary>
public sealed record RepositoryObject(
    string Key,
    long StoredBytes,
    long OriginalBytes,
    string StoredSha256,
    string OriginalSha256,
    string Compression,
    bool Encrypted);
