using System.Buffers.Binary;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// The plaintext header every stored object starts with: magic, format version, compression, whether it is
/// encrypted, the chunk size, and (encrypted) a per-object salt and a key check. Encrypted chunks bind the whole
/// header as associated data, so changing any of it fails authentication.
/// </summary>
internal sealed class ObjectHeader
{
    public const byte Version = 1;
    public const int PlainLength = 12;
    public const int SaltLength = 16;
    public const int KeyCheckLength = 32;
    public const int EncryptedLength = PlainLength + SaltLength + KeyCheckLength;
    private const byte EncryptedFlag = 1;
    private static ReadOnlySpan<byte> Magic => "BWRO"u8;

    private ObjectHeader(byte[] bytes, string compression, bool encrypted, int chunkSize)
    {
        Bytes = bytes;
        Compression = compression;
        Encrypted = encrypted;
        ChunkSize = chunkSize;
    }

    /// <summary>The header as stored (and as associated data of every chunk).</summary>
    public byte[] Bytes { get; }

    public string Compression { get; }

    public bool Encrypted { get; }

    public int ChunkSize { get; }

    public ReadOnlySpan<byte> Salt => Encrypted ? Bytes.AsSpan(PlainLength, SaltLength) : [];

    public ReadOnlySpan<byte> KeyCheck => Encrypted ? Bytes.AsSpan(PlainLength + SaltLength, KeyCheckLength) : [];

    /// <summary>A new header; with a key, a fresh random salt and the key check the key derives for it.</summary>
    public static ObjectHeader Create(string compression, int chunkSize, ObjectKeys? keys)
    {
        var bytes = new byte[keys is null ? PlainLength : EncryptedLength];
        Magic.CopyTo(bytes);
        bytes[4] = Version;
        bytes[5] = CompressionCode(compression);
        bytes[6] = keys is null ? (byte)0 : EncryptedFlag;
        BinaryPrimitives.WriteInt32BigEndian(bytes.AsSpan(8), chunkSize);
        if (keys is not null)
        {
            keys.Salt.CopyTo(bytes.AsSpan(PlainLength));
            keys.KeyCheck.CopyTo(bytes.AsSpan(PlainLength + SaltLength));
        }
        return new ObjectHeader(bytes, compression, keys is not null, chunkSize);
    }

    /// <summary>How many bytes the header has, from its first <see cref="PlainLength"/> bytes.</summary>
    public static int LengthFrom(ReadOnlySpan<byte> start)
    {
        Check(start);
        return (start[6] & EncryptedFlag) != 0 ? EncryptedLength : PlainLength;
    }

    public static ObjectHeader Parse(ReadOnlySpan<byte> bytes)
    {
        Check(bytes);
        var encrypted = (bytes[6] & EncryptedFlag) != 0;
        if (bytes.Length != (encrypted ? EncryptedLength : PlainLength) || bytes[7] != 0 || (bytes[6] & ~EncryptedFlag) != 0)
            throw new RepositoryContentException("The object's header is malformed.");
        var chunkSize = BinaryPrimitives.ReadInt32BigEndian(bytes[8..]);
        if (chunkSize is < 1 or > 64 * 1024 * 1024) throw new RepositoryContentException("The object's header names an impossible chunk size.");
        return new ObjectHeader(bytes.ToArray(), CompressionName(bytes[5]), encrypted, chunkSize);
    }

    private static void Check(ReadOnlySpan<byte> bytes)
    {
        if (bytes.Length < PlainLength || !bytes[..4].SequenceEqual(Magic))
            throw new RepositoryContentException("The object is not a backup repository object (its header is missing or damaged).");
        if (bytes[4] != Version)
            throw new RepositoryContentException($"The object has format version {bytes[4]}; this worker reads version {Version}.");
    }

    private static byte CompressionCode(string compression) => compression switch
    {
        RepositoryCompression.None => 0,
        RepositoryCompression.Zstd => 1,
        RepositoryCompression.Lz4 => 2,
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "Unknown compression."),
    };

    private static string CompressionName(byte code) => code switch
    {
        0 => RepositoryCompression.None,
        1 => RepositoryCompression.Zstd,
        2 => RepositoryCompression.Lz4,
        _ => throw new RepositoryContentException($"The object's header names an unknown compression ({code})."),
    };
}
