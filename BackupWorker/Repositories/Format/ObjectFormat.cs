namespace BackupWorker.Repositories.Format;

/// <summary>How a repository stores objects. <paramref name="Key"/>: the 32-byte repository key, or null (unencrypted).</summary>
internal sealed record ObjectFormat(string Compression, int CompressionLevel, byte[]? Key, int ChunkSize)
{
    public bool Encrypted => Key is not null;
}
