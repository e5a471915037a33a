using System.Buffers.Binary;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// Nonce and associated data of chunk <c>index</c>: both bind its index and whether it is the last chunk, so a chunk
/// moved, dropped, or made last by truncation fails authentication. The associated data also binds the header.
/// </summary>
internal static class ChunkNonce
{
    public const int NonceLength = 12;
    public const int TagLength = 16;

    /// <summary>The "last" byte of the nonce reserved for the sealed original facts (chunks use 0 and 1).</summary>
    public const byte SealedFactsMarker = 2;

    public static void Write(Span<byte> nonce, ulong index, byte last)
    {
        nonce.Clear();
        BinaryPrimitives.WriteUInt64BigEndian(nonce, index);
        nonce[8] = last;
    }

    public static byte[] AssociatedData(byte[] header, ulong index, byte last)
    {
        var data = new byte[header.Length + 9];
        header.CopyTo(data, 0);
        BinaryPrimitives.WriteUInt64BigEndian(data.AsSpan(header.Length), index);
        data[^1] = last;
        return data;
    }
}
