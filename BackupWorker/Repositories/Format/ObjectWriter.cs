namespace BackupWorker.Repositories.Format;

/// <summary>
/// Writes one object into a sink, streaming: header, then the content compressed, then (with a key) encrypted in
/// chunks; hashing the original and the stored bytes on the way. Nothing is buffered beyond one chunk.
/// </summary>
internal static class ObjectWriter
{
    private const int CopyBufferSize = 128 * 1024;

    public static async Task<WrittenObject> WriteAsync(Stream content, Stream sink, ObjectFormat format, CancellationToken ct)
    {
        using var keys = format.Key is null ? null : ObjectKeys.ForNewObject(format.Key);
        var header = ObjectHeader.Create(format.Compression, format.ChunkSize, keys);
        using var stored = new HashingWriteStream(sink);
        using var encrypt = keys is null ? null : new ChunkEncryptStream(stored, header, keys);
        Stream body = (Stream?)encrypt ?? stored;
        var compress = Compressions.Encoder(body, format.Compression, format.CompressionLevel);
        using var original = new HashingWriteStream(compress ?? body);
        try
        {
            await stored.WriteAsync(header.Bytes, ct);
            await content.CopyToAsync(original, CopyBufferSize, ct);
            if (compress is not null)
            {
                // Writes the end of the frame: only now is the compressed stream complete.
                var finishing = compress;
                compress = null;
                await finishing.DisposeAsync();
            }
            if (encrypt is not null) await encrypt.FinishAsync(ct);
        }
        catch
        {
            // The frame end the encoder writes while it is disposed must not reach the sink of a failed object.
            stored.Abandon();
            throw;
        }
        finally
        {
            if (compress is not null) await DisposeQuietly(compress);
        }
        var originalSha = original.Sha256Hex();
        return new WrittenObject(header, stored.BytesWritten, stored.Sha256Hex(), original.BytesWritten, originalSha,
            keys is null ? null : SealedFacts.Seal(keys, header, original.BytesWritten, originalSha));
    }

    private static async Task DisposeQuietly(Stream stream)
    {
        try { await stream.DisposeAsync(); }
        catch (Exception) { /* the write already failed; that failure is the one reported */ }
    }
}
