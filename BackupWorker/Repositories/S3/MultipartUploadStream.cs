using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;
using BackupWorker.Repositories.Format;

namespace BackupWorker.Repositories.S3;

/// <summary>
/// Uploads what is written as the parts of one S3 multipart upload; only <see cref="CompleteAsync"/> makes the object
/// exist. <see cref="AbortAsync"/> discards the parts of an upload that failed (S3 otherwise keeps and bills them until
/// a lifecycle rule removes them). Each part carries its MD5, which S3 checks on receipt.
/// </summary>
internal sealed class MultipartUploadStream(IAmazonS3 client, string bucket, string key, int partSize, Func<Exception, Exception?> mapError) : BlockUploadStream(partSize)
{
    /// <summary>S3's limit on the parts of one upload.</summary>
    private const int MaxParts = 10_000;
    private readonly List<PartETag> _parts = [];
    private string? _uploadId;

    /// <summary>Uploads what is left as the last part and completes the upload: the object appears, whole.</summary>
    public async Task CompleteAsync(CancellationToken cancellationToken)
    {
        // An empty object is still one (empty) part: S3 completes no upload without parts.
        await UploadRestAsync(evenEmpty: _parts.Count == 0, cancellationToken);
        try
        {
            await client.CompleteMultipartUploadAsync(new CompleteMultipartUploadRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = _uploadId,
                PartETags = _parts,
            }, cancellationToken);
        }
        catch (Exception e) when (mapError(e) is { } mapped)
        {
            throw mapped;
        }
    }

    /// <summary>
    /// Discards the upload's parts, best effort: the storage may be the very thing that failed. Never throws; what it
    /// could not discard stays invisible (an incomplete upload is no object).
    /// </summary>
    public async Task AbortAsync()
    {
        if (_uploadId is null) return;
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
            await client.AbortMultipartUploadAsync(bucket, key, _uploadId, cts.Token);
        }
        catch (Exception e) when (e is AmazonServiceException or AmazonClientException or HttpRequestException or IOException or OperationCanceledException)
        {
            // Best effort, see above.
        }
    }

    protected override async Task UploadBlockAsync(byte[] block, int count, CancellationToken cancellationToken)
    {
        if (_parts.Count == MaxParts)
            throw new RepositoryUnavailableException($"The object is larger than S3's {MaxParts} parts of {BlockSize} bytes allow.");
        try
        {
            _uploadId ??= (await client.InitiateMultipartUploadAsync(new InitiateMultipartUploadRequest
            {
                BucketName = bucket,
                Key = key,
                ContentType = "application/octet-stream",
            }, cancellationToken)).UploadId;
            var number = _parts.Count + 1;
            using var content = new MemoryStream(block, 0, count, writable: false);
            var response = await client.UploadPartAsync(new UploadPartRequest
            {
                BucketName = bucket,
                Key = key,
                UploadId = _uploadId,
                PartNumber = number,
                InputStream = content,
                MD5Digest = Convert.ToBase64String(MD5.HashData(block.AsSpan(0, count))),
                // Plain bodies: chunked signing and trailing checksums are not understood by every S3 implementation.
                UseChunkEncoding = false,
            }, cancellationToken);
            _parts.Add(new PartETag(number, response.ETag));
        }
        catch (Exception e) when (mapError(e) is { } mapped)
        {
            throw mapped;
        }
    }
}
