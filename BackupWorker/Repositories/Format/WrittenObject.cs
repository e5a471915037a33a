namespace BackupWorker.Repositories.Format;

/// <summary>The facts of an object just written, for its metadata and its <see cref="RepositoryObject"/>.</summary>
internal sealed record WrittenObject(
    ObjectHeader Header,
    long StoredBytes,
    string StoredSha256,
    long OriginalBytes,
    string OriginalSha256,
    string? SealedOriginal);
