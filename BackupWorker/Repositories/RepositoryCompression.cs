namespace BackupWorker.Repositories;

/// <summary>The compressions a repository knows, by their configuration (and metadata) names.</summary>
public static class RepositoryCompression
{
    public const string None = "none";
    public const string Zstd = "zstd";
    public const string Lz4 = "lz4";

    public static bool IsKnown(string? name) => name is None or Zstd or Lz4;
}
