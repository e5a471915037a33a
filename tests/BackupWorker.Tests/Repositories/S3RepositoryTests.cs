using System.Security.Cryptography;
using Amazon.S3;
using Amazon.S3.Model;
using BackupWorker.Repositories;
using BackupWorker.Repositories.S3;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupWorker.Tests.Repositories;

/// <summary>
/// The S3 repository against a real S3 endpoint, s3rver (one shared with the S3 flow tests; each test its own bucket). Faults are real:
/// s3rver killed mid-upload, objects changed or deleted behind the repository's back, a refused access key, wrong keys.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class S3RepositoryTests(S3rverFixture fixture)
{
    private static readonly string Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private readonly string _bucket = "t" + Guid.NewGuid().ToString("N")[..16];

    [S3rverFact]
    public async Task Put_in_parts_then_get_read_and_verify_encrypted_under_the_prefix_with_nothing_secret_stored()
    {
        using var repository = Repository(compression: RepositoryCompression.None);
        // Over one part, so the upload is a real multipart one.
        var original = RandomNumberGenerator.GetBytes(S3Repository.PartSize + 100_000);

        var stored = await repository.PutAsync("db/backup.db", new MemoryStream(original), CancellationToken.None);

        Assert.Equal(new RepositoryObject("db/backup.db", stored.StoredBytes, original.Length, stored.StoredSha256,
            Convert.ToHexStringLower(SHA256.HashData(original)), RepositoryCompression.None, true), stored);
        Assert.Equal(stored, await repository.GetAsync("db/backup.db", CancellationToken.None));
        Assert.Equal(original, await ReadAllAsync(repository, "db/backup.db"));
        await repository.VerifyAsync("db/backup.db", stored, CancellationToken.None);
        // Everything under the prefix: the manifest at the key, the bytes beside it; no plaintext, and neither the key
        // nor the original's digest in any metadata.
        using var s3 = fixture.S3rver.Client();
        var objects = await ListAsync(s3);
        Assert.Equal(2, objects.Count);
        Assert.All(objects, o => Assert.StartsWith("backups/one/db/backup.db", o.Key));
        var bytes = Assert.Single(objects, o => o.Key != "backups/one/db/backup.db");
        Assert.Equal(stored.StoredBytes, bytes.Size);
        using var raw = await s3.GetObjectAsync(_bucket, bytes.Key);
        var content = new MemoryStream();
        await raw.ResponseStream.CopyToAsync(content);
        Assert.Equal(-1, content.ToArray().AsSpan().IndexOf(original.AsSpan(1000, 64)));
        foreach (var o in objects)
        {
            var metadata = (await s3.GetObjectMetadataAsync(_bucket, o.Key)).Metadata;
            Assert.All(metadata.Keys, k => Assert.DoesNotContain(Key, metadata[k]));
            Assert.All(metadata.Keys, k => Assert.NotEqual(stored.OriginalSha256, metadata[k]));
        }
        Assert.Null(await repository.GetAsync("db/absent.db", CancellationToken.None));
    }

    [S3rverFact]
    public async Task A_second_put_replaces_the_object_and_its_earlier_bytes_and_delete_removes_all()
    {
        using var repository = Repository();
        await repository.PutAsync("db/x.db", new MemoryStream(ObjectFormatTests.Content(50_000)), CancellationToken.None);
        var second = ObjectFormatTests.Content(60_000);
        var stored = await repository.PutAsync("db/x.db", new MemoryStream(second), CancellationToken.None);

        using var s3 = fixture.S3rver.Client();
        Assert.Equal(2, (await ListAsync(s3)).Count);
        Assert.Equal(second, await ReadAllAsync(repository, "db/x.db"));
        Assert.Equal(stored, await repository.GetAsync("db/x.db", CancellationToken.None));

        await repository.DeleteAsync("db/x.db", CancellationToken.None);
        Assert.Empty(await ListAsync(s3));
        Assert.Null(await repository.GetAsync("db/x.db", CancellationToken.None));
        await repository.DeleteAsync("db/x.db", CancellationToken.None);
    }

    [S3rverFact]
    public async Task S3rver_killed_during_an_upload_is_unavailable_leaves_no_object_and_a_put_after_it_is_back_succeeds()
    {
        using var repository = Repository(compression: RepositoryCompression.None);
        await repository.PutAsync("db/earlier.db", new MemoryStream([1, 2, 3]), CancellationToken.None);
        // Past the first part, so a part was uploaded before the outage.
        var original = RandomNumberGenerator.GetBytes(S3Repository.PartSize + 1024 * 1024);
        try
        {
            var content = new CallbackReadStream(new MemoryStream(original), S3Repository.PartSize + 512 * 1024, fixture.S3rver.KillAsync);
            var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => repository.PutAsync("db/outage.db", content, CancellationToken.None));
            Assert.Contains("'offsite'", error.Message);
        }
        finally
        {
            if (!fixture.S3rver.IsRunning) await fixture.S3rver.StartAsync();
        }

        // Nothing of the failed upload is an object; the earlier one is as it was.
        Assert.Null(await repository.GetAsync("db/outage.db", CancellationToken.None));
        using var s3 = fixture.S3rver.Client();
        Assert.DoesNotContain(await ListAsync(s3), o => o.Key.Contains("outage", StringComparison.Ordinal));
        Assert.Equal([1, 2, 3], await ReadAllAsync(repository, "db/earlier.db"));
        var stored = await repository.PutAsync("db/outage.db", new MemoryStream(original), CancellationToken.None);
        await repository.VerifyAsync("db/outage.db", stored, CancellationToken.None);
    }

    [S3rverFact]
    public async Task An_object_corrupted_or_deleted_behind_our_back_is_a_content_error()
    {
        using var repository = Repository();
        var stored = await repository.PutAsync("db/corrupt.db", new MemoryStream(ObjectFormatTests.Content(200_000)), CancellationToken.None);
        using var s3 = fixture.S3rver.Client();
        var bytesKey = Assert.Single(await ListAsync(s3), o => o.Key != "backups/one/db/corrupt.db").Key;
        await S3Objects.FlipByteAsync(s3, _bucket, bytesKey);

        await Assert.ThrowsAsync<RepositoryContentException>(() => repository.VerifyAsync("db/corrupt.db", stored, CancellationToken.None));
        await Assert.ThrowsAsync<RepositoryContentException>(() => ReadAllAsync(repository, "db/corrupt.db"));

        await s3.DeleteObjectAsync(_bucket, bytesKey);
        await Assert.ThrowsAsync<RepositoryContentException>(() => repository.VerifyAsync("db/corrupt.db", stored, CancellationToken.None));
        await s3.DeleteObjectAsync(_bucket, "backups/one/db/corrupt.db");
        await Assert.ThrowsAsync<RepositoryContentException>(() => repository.OpenReadAsync("db/corrupt.db", CancellationToken.None));
        await repository.DeleteAsync("db/corrupt.db", CancellationToken.None);
    }

    [S3rverFact]
    public async Task A_missing_bucket_is_unavailable_not_a_damaged_copy()
    {
        // A mistyped or removed bucket says nothing of the copies: a drill through it is inconclusive, never a verdict.
        using var repository = Repository();

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(() => repository.OpenReadAsync("db/x.db", CancellationToken.None));

        Assert.Contains("Backup:Repositories:offsite:Container", error.Message);
    }

    [S3rverFact]
    public async Task A_refused_access_key_is_unavailable_with_a_clear_message_without_the_secret()
    {
        // s3rver refuses an unknown access key id; it does not check signatures, so a wrong secret alone cannot be shown here.
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30));
        using var repository = Repository(accessKeyId: "AKIAWRONGWRONGWRONG1", secretAccessKey: secret);

        var error = await Assert.ThrowsAsync<RepositoryUnavailableException>(
            () => repository.PutAsync("db/x.db", new MemoryStream([1, 2, 3]), CancellationToken.None));

        Assert.Contains("credentials", error.Message);
        Assert.Contains("Backup:Repositories:offsite:AccessKeyId", error.Message);
        Assert.DoesNotContain(secret, error.ToString());
    }

    [S3rverFact]
    public async Task A_wrong_encryption_key_is_a_key_error()
    {
        using var right = Repository();
        var stored = await right.PutAsync("db/key.db", new MemoryStream(ObjectFormatTests.Content(50_000)), CancellationToken.None);
        var otherKey = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
        using var wrong = Repository(encryptionKey: otherKey);

        await Assert.ThrowsAsync<RepositoryKeyException>(() => ReadAllAsync(wrong, "db/key.db"));
        await Assert.ThrowsAsync<RepositoryKeyException>(() => wrong.VerifyAsync("db/key.db", stored, CancellationToken.None));
        var error = await Assert.ThrowsAsync<RepositoryKeyException>(() => wrong.GetAsync("db/key.db", CancellationToken.None));
        Assert.DoesNotContain(otherKey, error.Message);
        Assert.DoesNotContain(Key, error.Message);
    }

    private S3Repository Repository(string compression = RepositoryCompression.Zstd, string? encryptionKey = null,
        string accessKeyId = S3rverProcess.AccessKeyId, string secretAccessKey = S3rverProcess.SecretAccessKey) =>
        new("offsite", new BackupRepositoryOptions
        {
            Kind = RepositoryKinds.S3,
            Container = _bucket,
            Prefix = "backups/one",
            ServiceUrl = fixture.S3rver.ServiceUrl,
            ForcePathStyle = true,
            AccessKeyId = accessKeyId,
            SecretAccessKey = secretAccessKey,
            Compression = compression,
            EncryptionKey = encryptionKey ?? Key,
            // An outage is reported after one quick retry: the tests stay cheap.
            MaxRetries = 1,
            RequestTimeout = TimeSpan.FromSeconds(20),
        }, NullLogger<S3Repository>.Instance);

    private async Task<List<S3Object>> ListAsync(IAmazonS3 s3) =>
        (await s3.ListObjectsAsync(new ListObjectsRequest { BucketName = _bucket })).S3Objects ?? [];

    private static async Task<byte[]> ReadAllAsync(IBackupRepository repository, string key)
    {
        await using var stream = await repository.OpenReadAsync(key, CancellationToken.None);
        var output = new MemoryStream();
        await stream.CopyToAsync(output);
        return output.ToArray();
    }
}
