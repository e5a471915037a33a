namespace BackupWorker.Repositories.Format;

/// <summary>How a repository stores objects. <paramref name="Key"/>: the 32-byte repository key, or null (unencrypted).</summary>
internal sealed record ObjectFormat(string Compression, int CompressionLevel, byte[]? Key, int ChunkSize)
{
    public bool Encrypted => Key is not null;

    /// <summary>The format a repository's options name; the key comes base64-encoded from its secret parameter.</summary>
    public static ObjectFormat Of(BackupRepositoryOptions options) => new(options.Compression, options.CompressionLevel,
        options.EncryptionKey is { } text ? Convert.FromBase64String(text.Trim()) : null, options.ChunkSize);
}
