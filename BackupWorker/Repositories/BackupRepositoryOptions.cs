namespace BackupWorker.Repositories;

/// <summary>
/// Section <c>Backup:Repositories:&lt;name&gt;</c>: one object-storage repository. Its connection string comes from
/// <c>ConnectionStrings:&lt;name&gt;</c> (an Aspire connection string), never from this section.
/// </summary>
public sealed class BackupRepositoryOptions
{
    /// <summary><c>AzureBlob</c> or <c>S3</c>.</summary>
    public string Kind { get; set; } = "";

    /// <summary>The container (for S3: the bucket) objects go in; created when missing.</summary>
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

    /// <summary>S3: the service's endpoint (an S3-compatible service); absent: AWS's endpoint for <see cref="Region"/>.</summary>
    public string? ServiceUrl { get; set; }

    /// <summary>S3: the region requests are signed for (and, without <see cref="ServiceUrl"/>, sent to).</summary>
    public string Region { get; set; } = "us-east-1";

    /// <summary>S3: bucket in the path (<c>host/bucket/key</c>) rather than the host name, as most S3-compatible services need.</summary>
    public bool ForcePathStyle { get; set; }

    /// <summary>S3: a key prefix (folder) for every object of this repository in the bucket; empty: none.</summary>
    public string Prefix { get; set; } = "";

    /// <summary>
    /// S3: the access key id; with <see cref="SecretAccessKey"/> (a secret parameter, never logged or shown). Both
    /// absent: the SDK's own credential chain (environment, profile, instance or pod role).
    /// </summary>
    public string? AccessKeyId { get; set; }

    /// <summary>S3: the secret access key. Never logged or shown.</summary>
    public string? SecretAccessKey { get; set; }

    /// <summary>From <c>ConnectionStrings:&lt;name&gt;</c>; filled in after binding.</summary>
    internal string? ConnectionString { get; set; }
}
