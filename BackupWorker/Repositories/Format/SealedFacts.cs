using System.Buffers.Binary;
using System.Security.Cryptography;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// An encrypted object's original size and SHA-256, sealed with its key for its metadata: the digest of the plaintext
/// would let anyone holding a guess at the database confirm it, so only the key's holder reads it.
/// </summary>
internal static class SealedFacts
{
    private const int PlainLength = 8 + 32;

    public static string Seal(ObjectKeys keys, ObjectHeader header, long originalBytes, string originalSha256)
    {
        Span<byte> plain = stackalloc byte[PlainLength];
        BinaryPrimitives.WriteInt64BigEndian(plain, originalBytes);
        Convert.FromHexString(originalSha256).CopyTo(plain[8..]);
        var sealedBytes = new byte[PlainLength + ChunkNonce.TagLength];
        using var aes = new AesGcm(keys.ChunkKey, ChunkNonce.TagLength);
        Span<byte> nonce = stackalloc byte[ChunkNonce.NonceLength];
        ChunkNonce.Write(nonce, ulong.MaxValue, ChunkNonce.SealedFactsMarker);
        aes.Encrypt(nonce, plain, sealedBytes.AsSpan(0, PlainLength), sealedBytes.AsSpan(PlainLength),
            ChunkNonce.AssociatedData(header.Bytes, ulong.MaxValue, ChunkNonce.SealedFactsMarker));
        return Convert.ToBase64String(sealedBytes);
    }

    public static (long OriginalBytes, string OriginalSha256) Open(ObjectKeys keys, ObjectHeader header, string sealedText)
    {
        var sealedBytes = new byte[PlainLength + ChunkNonce.TagLength];
        if (!Convert.TryFromBase64String(sealedText, sealedBytes, out var written) || written != sealedBytes.Length)
            throw new RepositoryContentException("The object's metadata is damaged (sealed original facts).");
        Span<byte> plain = stackalloc byte[PlainLength];
        using var aes = new AesGcm(keys.ChunkKey, ChunkNonce.TagLength);
        Span<byte> nonce = stackalloc byte[ChunkNonce.NonceLength];
        ChunkNonce.Write(nonce, ulong.MaxValue, ChunkNonce.SealedFactsMarker);
        try
        {
            aes.Decrypt(nonce, sealedBytes.AsSpan(0, PlainLength), sealedBytes.AsSpan(PlainLength), plain,
                ChunkNonce.AssociatedData(header.Bytes, ulong.MaxValue, ChunkNonce.SealedFactsMarker));
        }
        catch (AuthenticationTagMismatchException e)
        {
            throw new RepositoryContentException("The object's metadata failed authentication: it was changed.", e);
        }
        return (BinaryPrimitives.ReadInt64BigEndian(plain), Convert.ToHexStringLower(plain[8..]));
    }
}
