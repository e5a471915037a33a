using System.Security.Cryptography;
using BackupWorker.Repositories;
using BackupWorker.Repositories.Format;

namespace BackupWorker.Tests.Repositories;

/// <summary>
/// The stored format alone (no storage service): every compression with and without encryption reads back exactly,
/// and any change to what is stored is an error at the latest when the reader reaches the end, never a quiet success.
/// </summary>
public sealed class ObjectFormatTests
{
    private const int ChunkSize = 4096;
    private static readonly byte[] Key = RandomNumberGenerator.GetBytes(32);

    public static TheoryData<string, bool, int> Combinations()
    {
        var data = new TheoryData<string, bool, int>();
        foreach (var compression in new[] { RepositoryCompression.None, RepositoryCompression.Zstd, RepositoryCompression.Lz4 })
            foreach (var encrypted in new[] { false, true })
                // Empty, one byte, exactly one chunk of stored body, and several chunks with a partial last one.
                foreach (var size in new[] { 0, 1, ChunkSize, 5 * ChunkSize + 123 })
                    data.Add(compression, encrypted, size);
        return data;
    }

    [Theory]
    [MemberData(nameof(Combinations))]
    public async Task Every_combination_reads_back_exactly(string compression, bool encrypted, int size)
    {
        var original = Content(size);
        var (stored, record) = await WriteAsync(original, compression, encrypted);

        Assert.Equal(size, record.OriginalBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(original)), record.OriginalSha256);
        Assert.Equal(stored.Length, record.StoredBytes);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(stored)), record.StoredSha256);
        Assert.Equal(original, await ReadAllAsync(stored, record, encrypted ? Key : null));
    }

    [Fact]
    public async Task Compressed_content_is_smaller_and_encrypted_content_does_not_show_the_plaintext()
    {
        var original = Content(20 * ChunkSize);
        var (zstd, _) = await WriteAsync(original, RepositoryCompression.Zstd, encrypted: false);
        var (plainEncrypted, _) = await WriteAsync(original, RepositoryCompression.None, encrypted: true);

        Assert.True(zstd.Length < original.Length / 2, $"zstd stored {zstd.Length} of {original.Length} bytes");
        Assert.Equal(-1, plainEncrypted.AsSpan().IndexOf(original.AsSpan(0, 64)));
    }

    public static TheoryData<string, int> FlipPositions() => new()
    {
        { "header", 5 },
        { "salt", ObjectHeader.PlainLength + 3 },
        { "key check", ObjectHeader.PlainLength + ObjectHeader.SaltLength + 3 },
        { "first chunk", ObjectHeader.EncryptedLength + 10 },
        { "middle chunk", ObjectHeader.EncryptedLength + 2 * (ChunkSize + 16) + 100 },
        { "last chunk's tag", -1 },
    };

    [Theory]
    [MemberData(nameof(FlipPositions))]
    public async Task A_flipped_byte_anywhere_is_a_content_error_and_only_authentic_bytes_are_handed_out(string where, int position)
    {
        var original = Content(5 * ChunkSize + 123);
        var (stored, record) = await WriteAsync(original, RepositoryCompression.None, encrypted: true);
        var tampered = (byte[])stored.Clone();
        tampered[position < 0 ? tampered.Length + position : position] ^= 0x40;

        // As recorded (the catalog's checksum): a content error wherever the byte is.
        var (read, error) = await ReadUntilErrorAsync(tampered, record, Key);
        Assert.True(error is RepositoryContentException, $"{where}: {error?.GetType().Name ?? "no error"}");
        Assert.True(original.AsSpan().StartsWith(read), $"{where}: bytes handed out that are not the original's");

        // Had the tamperer also rewritten the recorded checksum, a changed salt or key check can only look like a
        // wrong key; still no byte comes out, and nothing reads as a success.
        (read, error) = await ReadUntilErrorAsync(tampered, RecordOf(tampered, record), Key);
        Assert.True(error is RepositoryContentException || (error is RepositoryKeyException && where is "salt" or "key check"),
            $"{where}, checksum rewritten: {error?.GetType().Name ?? "no error"}");
        Assert.True(original.AsSpan().StartsWith(read), $"{where}, checksum rewritten: bytes handed out that are not the original's");
    }

    [Fact]
    public async Task A_flipped_byte_of_a_compressed_unencrypted_object_is_a_content_error()
    {
        var original = Content(5 * ChunkSize);
        var (stored, record) = await WriteAsync(original, RepositoryCompression.Zstd, encrypted: false);
        stored[stored.Length / 2] ^= 0x01;

        var (_, error) = await ReadUntilErrorAsync(stored, record, null);

        Assert.IsType<RepositoryContentException>(error);
    }

    public static TheoryData<string> ChunkDamages() => ["dropped", "reordered", "truncated at a chunk", "truncated in a chunk", "last chunk dropped"];

    [Theory]
    [MemberData(nameof(ChunkDamages))]
    public async Task Dropped_reordered_or_truncated_chunks_are_content_errors(string damage)
    {
        var original = Content(5 * ChunkSize + 123);
        var (stored, record) = await WriteAsync(original, RepositoryCompression.None, encrypted: true);
        var header = stored[..ObjectHeader.EncryptedLength];
        var chunks = stored[ObjectHeader.EncryptedLength..].Chunk(ChunkSize + 16).ToList();
        Assert.Equal(6, chunks.Count);
        byte[] damaged = damage switch
        {
            "dropped" => [.. header, .. chunks[0], .. chunks[2], .. chunks[3], .. chunks[4], .. chunks[5]],
            "reordered" => [.. header, .. chunks[1], .. chunks[0], .. chunks[2], .. chunks[3], .. chunks[4], .. chunks[5]],
            "truncated at a chunk" => [.. header, .. chunks[0], .. chunks[1], .. chunks[2]],
            "truncated in a chunk" => stored[..(stored.Length - 50)],
            _ => [.. header, .. chunks[0], .. chunks[1], .. chunks[2], .. chunks[3], .. chunks[4]],
        };

        foreach (var expected in new[] { record, RecordOf(damaged, record) })
        {
            var (read, error) = await ReadUntilErrorAsync(damaged, expected, Key);
            Assert.True(error is RepositoryContentException, $"{damage}: {error?.GetType().Name ?? "no error"}");
            Assert.True(original.AsSpan().StartsWith(read), $"{damage}: bytes handed out that are not the original's");
        }
    }

    [Fact]
    public async Task A_wrong_key_is_a_key_error_that_does_not_show_either_key()
    {
        var (stored, record) = await WriteAsync(Content(3 * ChunkSize), RepositoryCompression.Zstd, encrypted: true);
        var wrongKey = RandomNumberGenerator.GetBytes(32);

        var error = await Assert.ThrowsAsync<RepositoryKeyException>(() => ReadAllAsync(stored, record, wrongKey));

        Assert.DoesNotContain(Convert.ToBase64String(Key), error.Message);
        Assert.DoesNotContain(Convert.ToBase64String(wrongKey), error.Message);
    }

    [Fact]
    public async Task An_encrypted_object_without_a_key_is_a_key_error()
    {
        var (stored, record) = await WriteAsync(Content(100), RepositoryCompression.Lz4, encrypted: true);

        await Assert.ThrowsAsync<RepositoryKeyException>(() => ReadAllAsync(stored, record, null));
    }

    [Fact]
    public async Task An_unencrypted_object_in_an_encrypting_repository_is_refused()
    {
        var (stored, record) = await WriteAsync(Content(100), RepositoryCompression.None, encrypted: false);

        await Assert.ThrowsAsync<RepositoryContentException>(() => ReadAllAsync(stored, record, Key));
    }

    [Fact]
    public async Task Sealed_original_facts_open_with_the_key_and_fail_when_changed()
    {
        var original = Content(1000);
        var written = await ObjectWriter.WriteAsync(new MemoryStream(original), new MemoryStream(), Format(RepositoryCompression.Zstd, true), CancellationToken.None);
        using var keys = ObjectKeys.ForStoredObject(Key, written.Header);

        Assert.Equal((1000L, written.OriginalSha256), SealedFacts.Open(keys, written.Header, written.SealedOriginal!));
        var changed = Convert.FromBase64String(written.SealedOriginal!);
        changed[0] ^= 1;
        Assert.Throws<RepositoryContentException>(() => SealedFacts.Open(keys, written.Header, Convert.ToBase64String(changed)));
        Assert.Throws<RepositoryKeyException>(() => ObjectKeys.ForStoredObject(RandomNumberGenerator.GetBytes(32), written.Header));
    }

    /// <summary>Compressible but not trivial: repeated runs of random words.</summary>
    internal static byte[] Content(int size)
    {
        var random = new Random(size);
        var words = Enumerable.Range(0, 64).Select(_ => RandomNumberGenerator.GetBytes(random.Next(3, 12))).ToArray();
        var content = new byte[size];
        for (var i = 0; i < size;)
        {
            var word = words[random.Next(words.Length)];
            var n = Math.Min(word.Length, size - i);
            word.AsSpan(0, n).CopyTo(content.AsSpan(i));
            i += n;
        }
        return content;
    }

    private static ObjectFormat Format(string compression, bool encrypted) => new(compression, 3, encrypted ? Key : null, ChunkSize);

    private static async Task<(byte[] Stored, RepositoryObject Record)> WriteAsync(byte[] original, string compression, bool encrypted)
    {
        var sink = new MemoryStream();
        var written = await ObjectWriter.WriteAsync(new MemoryStream(original), new AsyncOnlyStream(sink), Format(compression, encrypted), CancellationToken.None);
        return (sink.ToArray(), new RepositoryObject("k", written.StoredBytes, written.OriginalBytes, written.StoredSha256, written.OriginalSha256, compression, encrypted));
    }

    private static RepositoryObject RecordOf(byte[] stored, RepositoryObject record) =>
        record with { StoredBytes = stored.Length, StoredSha256 = Convert.ToHexStringLower(SHA256.HashData(stored)) };

    private static async Task<byte[]> ReadAllAsync(byte[] stored, RepositoryObject record, byte[]? key)
    {
        await using var stream = await ObjectReader.OpenAsync(new AsyncOnlyStream(new MemoryStream(stored)), record, key, _ => null, CancellationToken.None);
        var output = new MemoryStream();
        await stream.CopyToAsync(output);
        return output.ToArray();
    }

    /// <summary>What the reader handed out before its error, and the error (null: it reached the end as a success).</summary>
    private static async Task<(byte[] Read, Exception? Error)> ReadUntilErrorAsync(byte[] stored, RepositoryObject record, byte[]? key)
    {
        var output = new MemoryStream();
        try
        {
            await using var stream = await ObjectReader.OpenAsync(new MemoryStream(stored), record, key, _ => null, CancellationToken.None);
            await stream.CopyToAsync(output);
            return (output.ToArray(), null);
        }
        catch (Exception e)
        {
            return (output.ToArray(), e);
        }
    }
}
