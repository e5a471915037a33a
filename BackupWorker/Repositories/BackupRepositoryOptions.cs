namespace BackupWorker.Repositories;

/// <summary>
/// Section <c>Backup:Repositories:&lt;name&gt;</c>: one object-storage repository. Its connection string comes from
/// <c>ConnectionStrings:&lt;name&gt;</c> (an Aspire connection string), never from this section.
/// </summary>
public sealed class BackupRepositoryOptions
{
    /// <summary><c>AzureBlob</c>.</summary>
    public string Kind { get; set; } = "";

    /// <summary>The container objects go in; created when missing.</summary>
    public string Container { get; set; } = "backups";

    /// <summary><c>none</c>, <c>zstd</c> or <c>lz4</c>.</summary>
    public string Compression { get; set; } = RepositoryCompression.Zstd;

    /// <summary>zstd's level (1 to 22); ignored by the other compressions.</summary>
    public int CompressionLevel { get; set; } = 3;

    /// <summary>Base64 of 32 bytes (AES-256); absent: objects are stored unencrypted. Never logged or shown.</summary>
    public string? EncryptionKey { get; set; }

    /// <summary>Plaintext bytes per encrypted chunk: what a reader holds in memory before it hands bytes out.</summary>
    public int ChunkSize { get; set; } = 1024 * 1024;

    /// <summary>How long one request to the storage service may take before it is abandoned (and retried).</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often a failed request is retried (with exponential back-off) before the repository is unavailable.</summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>The first retry's back-off; each further one doubles it (up to 30 s).</summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>From <c>ConnectionStrings:&lt;name&gt;</c>; filled in after binding.</summary>
    internal string? ConnectionString { get; set; }
}
