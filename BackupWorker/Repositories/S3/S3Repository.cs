using System.Net;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using BackupWorker.Repositories.Format;

namespace BackupWorker.Repositories.S3;

/// <summary>
/// A repository in one S3 bucket (AWS or a compatible service), under an optional key prefix. Bytes go up as a
/// multipart upload (aborted on failure); the object exists once its manifest is written (see <see cref="S3Layout"/>).
/// Each request has the configured timeout and the SDK's standard retries with back-off.
/// </summary>
internal sealed class S3Repository : IBackupRepository, IDisposable
{
    /// <summary>S3's smallest part but the last is 5 MiB; 8 MiB parts reach 78 GiB in S3's 10,000 parts.</summary>
    internal const int PartSize = 8 * 1024 * 1024;
    private readonly AmazonS3Client _client;
    private readonly BackupRepositoryOptions _options;
    private readonly ObjectFormat _format;
    private readonly S3Layout _layout;
    private readonly ILogger _logger;

    public S3Repository(string name, BackupRepositoryOptions options, ILogger<S3Repository> logger)
    {
        Name = name;
        _options = options;
        _logger = logger;
        _format = ObjectFormat.Of(options);
        _layout = new S3Layout(options.Prefix);
        var config = new AmazonS3Config
        {
            ForcePathStyle = options.ForcePathStyle,
            MaxErrorRetry = options.MaxRetries,
            RetryMode = RequestRetryMode.Standard,
            Timeout = options.RequestTimeout,
            // Checksums only where S3 requires them: the default trailing CRC32 of v4 is not understood by every
            // S3-compatible service. Integrity does not rest on it: each part carries its MD5, and every copy is read
            // back against its SHA-256 before it counts.
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (options.ServiceUrl is { Length: > 0 } serviceUrl)
        {
            config.ServiceURL = serviceUrl;
            config.AuthenticationRegion = options.Region;
        }
        else config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(options.Region);
        // Without configured keys, the SDK's own chain (environment, profile, instance or pod role) supplies them.
        _client = options.AccessKeyId is { Length: > 0 } accessKeyId
            ? new AmazonS3Client(new BasicAWSCredentials(accessKeyId, options.SecretAccessKey), config)
            : new AmazonS3Client(config);
    }

    public string Name { get; }

    /// <summary>The bucket, and the prefix after a '/' when there is one, as the container.</summary>
    public RepositoryDescription Describe() => new(Name, RepositoryKinds.S3, _options.Container + (_layout.Prefix.Length > 0 ? "/" + _layout.Prefix.TrimEnd('/') : ""),
        _options.Compression, _options.Compression == RepositoryCompression.Zstd ? _options.CompressionLevel : null, _format.Encrypted);

    public async Task<RepositoryObject> PutAsync(string key, Stream content, CancellationToken ct)
    {
        ObjectKeyRules.Validate(key);
        Func<Exception, Exception?> map = e => S3Errors.Map(e, Name, "uploading", ct);
        await EnsureBucketAsync(ct);
        var earlier = await ManifestAsync(key, "uploading", ct);
        var upload = Guid.NewGuid().ToString("N");
        var bytes = new MultipartUploadStream(_client, _options.Container, _layout.Bytes(key, upload), PartSize, map);
        WrittenObject written;
        try
        {
            written = await ObjectWriter.WriteAsync(content, bytes, _format, ct);
            await bytes.CompleteAsync(ct);
        }
        catch
        {
            await bytes.AbortAsync();
            throw;
        }
        var metadata = ObjectMetadata.From(written);
        metadata[S3Layout.UploadMetadata] = upload;
        try
        {
            var manifest = new PutObjectRequest
            {
                BucketName = _options.Container,
                Key = _layout.Manifest(key),
                InputStream = new MemoryStream([], writable: false),
                ContentType = "application/octet-stream",
                UseChunkEncoding = false,
            };
            foreach (var (name, value) in metadata) manifest.Metadata[name] = value;
            await _client.PutObjectAsync(manifest, ct);
        }
        catch (Exception e) when (map(e) is { } mapped)
        {
            // The bytes stay: had the manifest landed after all, it names them. Unnamed, they are never read.
            throw mapped;
        }
        // The earlier object of this key is replaced: its bytes are no longer named by any manifest.
        if (earlier?.GetValueOrDefault(S3Layout.UploadMetadata) is { } earlierUpload && S3Layout.IsUpload(earlierUpload))
            await DeleteQuietlyAsync(_layout.Bytes(key, earlierUpload));
        var stored = ObjectMetadata.Record(key, written);
        _logger.ObjectStored(Name, key, stored.OriginalBytes, stored.StoredBytes);
        return stored;
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken ct) => OpenAsync(key, expected: null, ct);

    public async Task<RepositoryObject?> GetAsync(string key, CancellationToken ct)
    {
        ObjectKeyRules.Validate(key);
        return await ManifestAsync(key, "reading an object's manifest", ct) is { } metadata
            ? ObjectMetadata.Read(key, metadata, _format.Key)
            : null;
    }

    public async Task VerifyAsync(string key, RepositoryObject expected, CancellationToken ct)
    {
        await using var stream = await OpenAsync(key, expected, ct);
        await stream.CopyToAsync(Stream.Null, ct);
        _logger.ObjectVerified(Name, key);
    }

    public async Task DeleteAsync(string key, CancellationToken ct)
    {
        ObjectKeyRules.Validate(key);
        try
        {
            // The manifest first: the object is gone at once, and bytes left by a failure here are never read.
            var manifest = await ManifestAsync(key, "deleting", ct);
            if (manifest is not null)
            {
                await _client.DeleteObjectAsync(_options.Container, _layout.Manifest(key), ct);
                if (manifest.GetValueOrDefault(S3Layout.UploadMetadata) is { } upload && S3Layout.IsUpload(upload))
                    await _client.DeleteObjectAsync(_options.Container, _layout.Bytes(key, upload), ct);
            }
        }
        catch (AmazonS3Exception e) when (e.ErrorCode == "NoSuchBucket")
        {
            // The bucket is gone too: the object is absent.
        }
        catch (Exception e) when (S3Errors.Map(e, Name, "deleting", ct) is { } mapped)
        {
            throw mapped;
        }
        _logger.ObjectDeleted(Name, key);
    }

    public void Dispose() => _client.Dispose();

    /// <param name="expected">The caller's record (the catalog's): checked instead of the manifest's metadata.</param>
    private async Task<Stream> OpenAsync(string key, RepositoryObject? expected, CancellationToken ct)
    {
        ObjectKeyRules.Validate(key);
        Func<Exception, Exception?> map = e => S3Errors.Map(e, Name, "downloading", ct);
        var manifest = await ManifestAsync(key, "downloading", ct);
        if (manifest is null)
        {
            // S3 answers a HEAD without a body: whether the object or its whole bucket is missing is asked apart.
            await ThrowIfBucketMissingAsync("downloading", ct);
            throw new RepositoryContentException($"Repository '{Name}': object '{key}' is missing.");
        }
        if (!S3Layout.IsUpload(manifest.GetValueOrDefault(S3Layout.UploadMetadata)))
            throw new RepositoryContentException($"Repository '{Name}': object '{key}' has a damaged manifest (no upload).");
        GetObjectResponse download;
        try
        {
            download = await _client.GetObjectAsync(_options.Container, _layout.Bytes(key, manifest[S3Layout.UploadMetadata]), ct);
        }
        catch (Exception e) when (map(e) is { } mapped)
        {
            throw mapped is RepositoryContentException
                ? new RepositoryContentException($"Repository '{Name}': the bytes of object '{key}' are missing.", e)
                : mapped;
        }
        try
        {
            var record = expected ?? await RecordFromManifestAsync(key, manifest, download, map, ct);
            return await ObjectReader.OpenAsync(download.ResponseStream, record, _format.Key, map, ct);
        }
        catch
        {
            download.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The record the manifest holds. When its key check fails, the stored bytes are read against the manifest's
    /// checksum first: a changed object is a content error, only an intact one a wrong key.
    /// </summary>
    private async Task<RepositoryObject> RecordFromManifestAsync(string key, Dictionary<string, string> manifest,
        GetObjectResponse download, Func<Exception, Exception?> map, CancellationToken ct)
    {
        try
        {
            return ObjectMetadata.Read(key, manifest, _format.Key);
        }
        catch (RepositoryKeyException)
        {
            var (bytes, sha) = ObjectMetadata.Stored(manifest);
            await using var stored = new StoredReadStream(download.ResponseStream, bytes, sha, map);
            await stored.CopyToAsync(Stream.Null, ct);
            throw;
        }
    }

    /// <summary>The manifest's metadata (names without S3's <c>x-amz-meta-</c>), or null when there is none.</summary>
    private async Task<Dictionary<string, string>?> ManifestAsync(string key, string doing, CancellationToken ct)
    {
        try
        {
            var head = await _client.GetObjectMetadataAsync(_options.Container, _layout.Manifest(key), ct);
            var metadata = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
            foreach (var name in head.Metadata.Keys)
                metadata[name.StartsWith("x-amz-meta-", StringComparison.OrdinalIgnoreCase) ? name["x-amz-meta-".Length..] : name] = head.Metadata[name];
            return metadata;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
        catch (Exception e) when (S3Errors.Map(e, Name, doing, ct) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <summary>
    /// Before every put (one small request): a bucket that is not there is made, as the Azure repository makes its
    /// container; where the credentials may not create buckets, the bucket must exist beforehand.
    /// </summary>
    private async Task EnsureBucketAsync(CancellationToken ct)
    {
        try
        {
            await _client.HeadBucketAsync(new HeadBucketRequest { BucketName = _options.Container }, ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound || e.ErrorCode == "NoSuchBucket")
        {
            try
            {
                await _client.PutBucketAsync(new PutBucketRequest { BucketName = _options.Container, UseClientRegion = true }, ct);
            }
            catch (AmazonS3Exception again) when (again.ErrorCode is "BucketAlreadyOwnedByYou")
            {
                // Made meanwhile by another worker or put: it is there.
            }
            catch (Exception again) when (S3Errors.Map(again, Name, "creating its bucket", ct) is { } mapped)
            {
                throw mapped;
            }
        }
        catch (Exception e) when (S3Errors.Map(e, Name, "finding its bucket", ct) is { } mapped)
        {
            throw mapped;
        }
    }

    private async Task ThrowIfBucketMissingAsync(string doing, CancellationToken ct)
    {
        try
        {
            await _client.HeadBucketAsync(new HeadBucketRequest { BucketName = _options.Container }, ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            throw S3Errors.MissingBucket(Name, doing, e);
        }
        catch (Exception e) when (S3Errors.Map(e, Name, doing, ct) is { } mapped)
        {
            throw mapped;
        }
    }

    private async Task DeleteQuietlyAsync(string objectKey)
    {
        try
        {
            using var cts = new CancellationTokenSource(_options.RequestTimeout);
            await _client.DeleteObjectAsync(_options.Container, objectKey, cts.Token);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
        {
            // Unnamed bytes are never read; a failure to remove them costs space, not safety.
        }
    }
}
