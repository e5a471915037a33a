namespace BackupWorker.Repositories;

/// <summary>What a repository is, safe to show and log: no key, no connection string.</summary>
/// <param name="CompressionLevel">The zstd level; null for other compressions.</param>
public sealed record RepositoryDescription(
    string Name,
    string Kind,
    string Container,
    string Compression,
    int? CompressionLevel,
    bool Encrypted);
