namespace BackupWorker.Repositories.Format;

/// <summary>Opens a stored object for reading its original bytes, checked against what was recorded of it.</summary>
internal static class ObjectReader
{
    /// <param name="repositoryKey">The repository's key; with one, an unencrypted object is refused (it could be a substitute).</param>
    /// <param name="mapError">Translates errors of <paramref name="source"/> (null: passed on as they are).</param>
    public static async Task<Stream> OpenAsync(Stream source, RepositoryObject expected, byte[]? repositoryKey,
        Func<Exception, Exception?> mapError, CancellationToken ct)
    {
        var stored = new StoredReadStream(source, expected.StoredBytes, expected.StoredSha256, mapError);
        ObjectKeys? keys = null;
        try
        {
            var header = await ReadHeaderAsync(stored, ct);
            if (header.Compression != expected.Compression || header.Encrypted != expected.Encrypted)
                throw new RepositoryContentException(
                    $"The object's header ({header.Compression}, {(header.Encrypted ? "encrypted" : "not encrypted")}) differs from its record ({expected.Compression}, {(expected.Encrypted ? "encrypted" : "not encrypted")}).");
            if (header.Encrypted)
            {
                if (repositoryKey is null) throw new RepositoryKeyException("The object is encrypted, and the repository has no encryption key configured.");
                keys = await KeysOrKeyErrorAsync(stored, repositoryKey, header, ct);
            }
            else if (repositoryKey is not null)
                throw new RepositoryContentException("The object is not encrypted, but its repository encrypts: it is not accepted.");
            Stream body = keys is null ? stored : new ChunkDecryptStream(stored, header, keys);
            var decoded = Compressions.Decoder(body, header.Compression) ?? body;
            return new OriginalReadStream(decoded, body, stored, expected.OriginalBytes, expected.OriginalSha256, keys is null ? [] : [keys]);
        }
        catch
        {
            keys?.Dispose();
            await stored.DisposeAsync();
            throw;
        }
    }

    /// <summary>
    /// A key check that fails means a wrong key only if the object is intact (a changed salt or key check fails it
    /// too): the rest is read, and the stored checksum decides between tampering and a wrong key.
    /// </summary>
    private static async Task<ObjectKeys> KeysOrKeyErrorAsync(Stream stored, byte[] repositoryKey, ObjectHeader header, CancellationToken ct)
    {
        try
        {
            return ObjectKeys.ForStoredObject(repositoryKey, header);
        }
        catch (RepositoryKeyException)
        {
            await stored.CopyToAsync(Stream.Null, ct);
            throw;
        }
    }

    private static async Task<ObjectHeader> ReadHeaderAsync(Stream stored, CancellationToken ct)
    {
        var start = new byte[ObjectHeader.EncryptedLength];
        if (await stored.ReadAtLeastAsync(start.AsMemory(0, ObjectHeader.PlainLength), ObjectHeader.PlainLength, throwOnEndOfStream: false, ct) < ObjectHeader.PlainLength)
            throw new RepositoryContentException("The object is truncated: its header is incomplete.");
        var length = ObjectHeader.LengthFrom(start);
        if (length > ObjectHeader.PlainLength &&
            await stored.ReadAtLeastAsync(start.AsMemory(ObjectHeader.PlainLength, length - ObjectHeader.PlainLength), length - ObjectHeader.PlainLength, throwOnEndOfStream: false, ct)
                < length - ObjectHeader.PlainLength)
            throw new RepositoryContentException("The object is truncated: its header is incomplete.");
        return ObjectHeader.Parse(start.AsSpan(0, length));
    }
}
