using System.Security.Cryptography;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using BackupWorker.Repositories;
using BackupWorker.Repositories.AzureBlob;
using Microsoft.Extensions.Logging.Abstractions;
using TestSupport;

namespace BackupWorker.Tests.Repositories;

/// <summary>
/// The Azure Blob repository against a real Azurite (one per class; each test its own container). Faults are real:
/// Azurite killed mid-upload, blobs changed or deleted behind the repository's back, refused credentials, wrong keys.
/// </summary>
public sealed class AzureBlobRepositoryTests(AzuriteFixture fixture) : IClassFixture<AzuriteFixture>
{
    private static readonly string Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly string _container = "t" + Guid.NewGuid().ToString("N")[..16];

    [AzuriteFact]
    public async Task Put_then_get_read_and_verify_each_compression_encrypted()
    {
        var original = ObjectFormatTests.Content(300_000);
        foreach (var compression in new[] { RepositoryCompression.Zstd, RepositoryCompression.Lz4, RepositoryCompression.None })
        {
            var repository = Repository(compression: compression);
            var key = $"db/{compression}/backup.db";

            var stored = await repository.PutAsync(key, new MemoryStream(original), CancellationToken.None);

            Assert.Equal(new RepositoryObject(key, stored.StoredBytes, original.Length, stored.StoredSha256,
                Convert.ToHexStringLower(SHA256.HashData(original)), compression, true), stored);
            Assert.Equal(stored, await repository.GetAsync(key, CancellationToken.None));
            Assert.Equal(original, await ReadAllAsync(repository, key));
            await repository.VerifyAsync(key, stored, CancellationToken.None);
            // The blob holds no plaintext, and its metadata neither the key nor the original's digest.
            var blob = Blobs().GetBlobClient(key);
            var raw = (await blob.DownloadContentAsync()).Value;
            Assert.Equal(-1, raw.Content.ToMemory().Span.IndexOf(original.AsSpan(1000, 64)));
            Assert.All(raw.Details.Metadata.Values, v => Assert.DoesNotContain(Key, v));
            Assert.DoesNotContain(stored.OriginalSha256, raw.Details.Metadata.Values);
        }
        Assert.Null(await Repository().GetAsync("db/absent.db", CancellationToken.None));
    }

    [AzuriteFact]
    public async Task Azurite_killed_during_an_upload_is_unavailable_leaves_no_object_and_a_put_after_it_is_back_succeeds()
    {
        var repository = Repository(compression: RepositoryCompression.None);
        // Past the first 4 MiB block, so a block was staged before the outage.
        var original = RandomNumberGenerator.GetBytes(6 * 1024 * 1024);
        try
        {
            var content = new CallbackReadStream(new MemoryStream(original), 5 * 1024 * 1024, fixture.Azurite.KillAsync);
            var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => repository.PutAsync("db/outage.db", content, CancellationToken.None));
            Assert.Contains("'offsite'", error.Message);
        }
        finally
        {
            if (!fixture.Azurite.IsRunning) await fixture.Azurite.StartAsync();
        }

        // Azurite may come back without the container (it had not saved it): the next put makes it again.
        Assert.Null(await repository.GetAsync("db/outage.db", CancellationToken.None));
        var stored = await repository.PutAsync("db/outage.db", new MemoryStream(original), CancellationToken.None);
        await repository.VerifyAsync("db/outage.db", stored, CancellationToken.None);
    }

    [AzuriteFact]
    public async Task A_blob_corrupted_or_deleted_behind_our_back_is_a_content_error()
    {
        var repository = Repository();
        var stored = await repository.PutAsync("db/corrupt.db", new MemoryStream(ObjectFormatTests.Content(200_000)), CancellationToken.None);
        var blob = Blobs().GetBlobClient("db/corrupt.db");
        var raw = (await blob.DownloadContentAsync()).Value;
        var bytes = raw.Content.ToArray();
        bytes[bytes.Length / 2] ^= 0x10;
        await blob.UploadAsync(new BinaryData(bytes), new BlobUploadOptions { Metadata = raw.Details.Metadata });

        await Assert.ThrowsAsync<RepositoryContentException>(() => repository.VerifyAsync("db/corrupt.db", stored, CancellationToken.None));
        await Assert.ThrowsAsync<RepositoryContentException>(() => ReadAllAsync(repository, "db/corrupt.db"));

        await blob.DeleteAsync();
        await Assert.ThrowsAsync<RepositoryContentException>(() => repository.VerifyAsync("db/corrupt.db", stored, CancellationToken.None));
        await Assert.ThrowsAsync<RepositoryContentException>(() => repository.OpenReadAsync("db/corrupt.db", CancellationToken.None));
        await repository.DeleteAsync("db/corrupt.db", CancellationToken.None);
    }

    [AzuriteFact]
    public async Task Wrong_credentials_are_unavailable_with_a_clear_message_without_the_secret()
    {
        var wrongAccountKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(64));
        var repository = Repository(connectionString: fixture.Azurite.ConnectionStringWithKey(wrongAccountKey));

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(
            () => repository.PutAsync("db/x.db", new MemoryStream([1, 2, 3]), CancellationToken.None));

        Assert.Contains("credentials", error.Message);
        Assert.Contains("ConnectionStrings:offsite", error.Message);
        Assert.DoesNotContain(wrongAccountKey, error.Message);
    }

    [AzuriteFact]
    public async Task A_wrong_encryption_key_is_a_key_error()
    {
        var stored = await Repository().PutAsync("db/key.db", new MemoryStream(ObjectFormatTests.Content(50_000)), CancellationToken.None);
        var otherKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        var wrong = Repository(encryptionKey: otherKey);

        await Assert.ThrowsAsync<RepositoryKeyException>(() => ReadAllAsync(wrong, "db/key.db"));
        await Assert.ThrowsAsync<RepositoryKeyException>(() => wrong.VerifyAsync("db/key.db", stored, CancellationToken.None));
        var error = await Assert.ThrowsAsync<RepositoryKeyException>(() => wrong.GetAsync("db/key.db", CancellationToken.None));
        Assert.DoesNotContain(otherKey, error.Message);
        Assert.DoesNotContain(Key, error.Message);
    }

    private AzureBlobRepository Repository(string compression = RepositoryCompression.Zstd, string? encryptionKey = null, string? connectionString = null) =>
        new("offsite", new BackupRepositoryOptions
        {
            Kind = RepositoryKinds.AzureBlob,
            Container = _container,
            Compression = compression,
            EncryptionKey = encryptionKey ?? Key,
            ConnectionString = connectionString ?? fixture.Azurite.ConnectionString,
            // An outage is reported after one quick retry: the tests stay cheap.
            MaxRetries = 1,
            RetryDelay = TimeSpan.FromMilliseconds(100),
            RequestTimeout = TimeSpan.FromSeconds(20),
        }, NullLogger<AzureBlobRepository>.Instance);

    private BlobContainerClient Blobs() => new(fixture.Azurite.ConnectionString, _container);

    private static async Task<byte[]> ReadAllAsync(IBackupRepository repository, string key)
    {
        await using var stream = await repository.OpenReadAsync(key, CancellationToken.None);
        var output = new MemoryStream();
        await stream.CopyToAsync(output);
        return output.ToArray();
    }
}
