using System.Security.Cryptography;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// The keys of one object, derived (HKDF-SHA256) from the repository key and the object's random salt: the AES-256-GCM
/// key of its chunks and a key check. A fresh key per object lets chunk nonces be plain counters without ever
/// repeating under one key; the key check tells a wrong repository key from a damaged object, and (a one-way
/// derivation) reveals nothing about either key.
/// </summary>
internal sealed class ObjectKeys : IDisposable
{
    private static readonly byte[] ChunkKeyInfo = "BackupWorker repository object key v1"u8.ToArray();
    private static readonly byte[] KeyCheckInfo = "BackupWorker repository key check v1"u8.ToArray();

    private ObjectKeys(byte[] salt, byte[] chunkKey, byte[] keyCheck)
    {
        Salt = salt;
        ChunkKey = chunkKey;
        KeyCheck = keyCheck;
    }

    public byte[] Salt { get; }

    public byte[] ChunkKey { get; }

    public byte[] KeyCheck { get; }

    /// <summary>Keys for a new object, with a fresh random salt.</summary>
    public static ObjectKeys ForNewObject(ReadOnlySpan<byte> repositoryKey) =>
        Derive(repositoryKey, RandomNumberGenerator.GetBytes(ObjectHeader.SaltLength));

    /// <summary>The keys of a stored object; <see cref="RepositoryKeyException"/> when the header's key check differs.</summary>
    public static ObjectKeys ForStoredObject(ReadOnlySpan<byte> repositoryKey, ObjectHeader header)
    {
        var keys = Derive(repositoryKey, header.Salt.ToArray());
        if (CryptographicOperations.FixedTimeEquals(keys.KeyCheck, header.KeyCheck)) return keys;
        keys.Dispose();
        throw new RepositoryKeyException("The object was encrypted with a different key than the repository's configured encryption key.");
    }

    private static ObjectKeys Derive(ReadOnlySpan<byte> repositoryKey, byte[] salt)
    {
        var chunkKey = new byte[32];
        var keyCheck = new byte[ObjectHeader.KeyCheckLength];
        HKDF.DeriveKey(HashAlgorithmName.SHA256, repositoryKey, chunkKey, salt, ChunkKeyInfo);
        HKDF.DeriveKey(HashAlgorithmName.SHA256, repositoryKey, keyCheck, salt, KeyCheckInfo);
        return new ObjectKeys(salt, chunkKey, keyCheck);
    }

    public void Dispose() => CryptographicOperations.ZeroMemory(ChunkKey);
}
