using K4os.Compression.LZ4;
using K4os.Compression.LZ4.Streams;
using ZstdSharp;

namespace BackupWorker.Repositories.Format;

/// <summary>The streaming encoders and decoders of each compression; none: null (the bytes pass as they are).</summary>
internal static class Compressions
{
    /// <summary>An encoder writing into <paramref name="sink"/>; disposing it writes the end of its frame.</summary>
    public static Stream? Encoder(Stream sink, string compression, int level) => compression switch
    {
        RepositoryCompression.None => null,
        RepositoryCompression.Zstd => new CompressionStream(sink, level, leaveOpen: true),
        RepositoryCompression.Lz4 => LZ4Stream.Encode(sink, LZ4Level.L00_FAST, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "Unknown compression."),
    };

    public static Stream? Decoder(Stream source, string compression) => compression switch
    {
        RepositoryCompression.None => null,
        // checkEndOfStream: a frame cut short is an error, not a quiet end.
        RepositoryCompression.Zstd => new DecompressionStream(source, leaveOpen: true, checkEndOfStream: true),
        RepositoryCompression.Lz4 => LZ4Stream.Decode(source, leaveOpen: true),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "Unknown compression."),
    };
}
