using Azure;
using Azure.Core;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using BackupWorker.Repositories.Format;

namespace BackupWorker.Repositories.AzureBlob;

/// <summary>
/// A repository in one Azure Blob container (or Azurite). Objects are block blobs written as staged blocks and made
/// visible by one commit; each request has the configured timeout and the SDK's exponential retries.
/// </summary>
internal sealed class AzureBlobRepository : IBackupRepository
{
    private const int BlockSize = 4 * 1024 * 1024;
    private readonly BlobContainerClient _container;
    private readonly BackupRepositoryOptions _options;
    private readonly ObjectFormat _format;
    private readonly ILogger _logger;

    public AzureBlobRepository(string name, BackupRepositoryOptions options, ILogger<AzureBlobRepository> logger)
    {
        Name = name;
        _options = options;
        _logger = logger;
        _format = ObjectFormat.Of(options);
        var clientOptions = new BlobClientOptions();
        clientOptions.Retry.Mode = RetryMode.Exponential;
        clientOptions.Retry.MaxRetries = options.MaxRetries;
        clientOptions.Retry.Delay = options.RetryDelay;
        clientOptions.Retry.MaxDelay = TimeSpan.FromSeconds(30);
        clientOptions.Retry.NetworkTimeout = options.RequestTimeout;
        _container = new BlobContainerClient(options.ConnectionString, options.Container, clientOptions);
    }

    public string Name { get; }

    public RepositoryDescription Describe() => new(Name, RepositoryKinds.AzureBlob, _options.Container, _options.Compression,
        _options.Compression == RepositoryCompression.Zstd ? _options.CompressionLevel : null, _format.Encrypted);

    public async Task<RepositoryObject> PutAsync(string key, Stream content, CancellationToken ct)
    {
        ObjectKeyRules.Validate(key);
        await EnsureContainerAsync(ct);
        var upload = new StagedBlockStream(_container.GetBlockBlobClient(key), BlockSize, e => AzureErrors.Map(e, Name, "uploading", ct));
        var written = await ObjectWriter.WriteAsync(content, upload, _format, ct);
        await upload.CommitAsync(ObjectMetadata.From(written), ct);
        var stored = ObjectMetadata.Record(key, written);
        _logger.ObjectStored(Name, key, stored.OriginalBytes, stored.StoredBytes);
        return stored;
    }

    public Task<Stream> OpenReadAsync(string key, CancellationToken ct) => OpenAsync(key, expected: null, ct);

    public async Task<RepositoryObject?> GetAsync(string key, CancellationToken ct)
    {
        ObjectKeyRules.Validate(key);
        try
        {
            var properties = await _container.GetBlobClient(key).GetPropertiesAsync(cancellationToken: ct);
            return ObjectMetadata.Read(key, properties.Value.Metadata, _format.Key);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            return null;
        }
        catch (Exception e) when (AzureErrors.Map(e, Name, "reading an object's properties", ct) is { } mapped)
        {
            throw mapped;
        }
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
            await _container.GetBlobClient(key).DeleteIfExistsAsync(DeleteSnapshotsOption.IncludeSnapshots, cancellationToken: ct);
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            // The container is gone too: the object is absent.
        }
        catch (Exception e) when (AzureErrors.Map(e, Name, "deleting", ct) is { } mapped)
        {
            throw mapped;
        }
        _logger.ObjectDeleted(Name, key);
    }

    /// <param name="expected">The caller's record (the catalog's): checked instead of the object's own metadata.</param>
    private async Task<Stream> OpenAsync(string key, RepositoryObject? expected, CancellationToken ct)
    {
        ObjectKeyRules.Validate(key);
        Func<Exception, Exception?> map = e => AzureErrors.Map(e, Name, "downloading", ct);
        BlobDownloadStreamingResult download;
        try
        {
            download = (await _container.GetBlobClient(key).DownloadStreamingAsync(cancellationToken: ct)).Value;
        }
        catch (RequestFailedException e) when (e.Status == 404)
        {
            throw new RepositoryContentException($"Repository '{Name}': object '{key}' is missing.", e);
        }
        catch (Exception e) when (map(e) is { } mapped)
        {
            throw mapped;
        }
        try
        {
            var record = expected ?? await RecordFromMetadataAsync(key, download, map, ct);
            return await ObjectReader.OpenAsync(download.Content, record, _format.Key, map, ct);
        }
        catch
        {
            download.Dispose();
            throw;
        }
    }

    /// <summary>
    /// The record the object's metadata holds. When its key check fails, the stored bytes are read against the
    /// metadata's checksum first: a changed object is a content error, only an intact one a wrong key.
    /// </summary>
    private async Task<RepositoryObject> RecordFromMetadataAsync(string key, BlobDownloadStreamingResult download,
        Func<Exception, Exception?> map, CancellationToken ct)
    {
        try
        {
            return ObjectMetadata.Read(key, download.Details.Metadata, _format.Key);
        }
        catch (RepositoryKeyException)
        {
            var (bytes, sha) = ObjectMetadata.Stored(new Dictionary<string, string>(download.Details.Metadata, StringComparer.OrdinalIgnoreCase));
            await using var stored = new StoredReadStream(download.Content, bytes, sha, map);
            await stored.CopyToAsync(Stream.Null, ct);
            throw;
        }
    }

    /// <summary>
    /// Before every put (one small request): a container deleted behind our back, or lost by an emulator's restart, is
    /// made again rather than failing every backup from then on.
    /// </summary>
    private async Task EnsureContainerAsync(CancellationToken ct)
    {
        try
        {
            await _container.CreateIfNotExistsAsync(cancellationToken: ct);
        }
        catch (Exception e) when (AzureErrors.Map(e, Name, "creating its container", ct) is { } mapped)
        {
            throw mapped;
        }
    }
}
