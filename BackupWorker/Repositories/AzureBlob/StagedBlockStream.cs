using System.Text;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using BackupWorker.Repositories.Format;

namespace BackupWorker.Repositories.AzureBlob;

/// <summary>
/// Uploads what is written as staged blocks of a block blob; only <see cref="CommitAsync"/> makes the blob exist (or
/// replaces it). Blocks of an upload that never commits stay invisible and the service discards them.
/// </summary>
internal sealed class StagedBlockStream(BlockBlobClient blob, int blockSize, Func<Exception, Exception?> mapError) : BlockUploadStream(blockSize)
{
    private readonly List<string> _blockIds = [];
    private readonly string _uploadId = Guid.NewGuid().ToString("N");

    /// <summary>Stages what is left and commits the block list with the object's metadata.</summary>
    public async Task CommitAsync(IDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        await UploadRestAsync(evenEmpty: false, cancellationToken);
        try
        {
            await blob.CommitBlockListAsync(_blockIds, new CommitBlockListOptions
            {
                Metadata = metadata,
                HttpHeaders = new BlobHttpHeaders { ContentType = "application/octet-stream" },
            }, cancellationToken);
        }
        catch (Exception e) when (mapError(e) is { } mapped)
        {
            throw mapped;
        }
    }

    protected override async Task UploadBlockAsync(byte[] block, int count, CancellationToken cancellationToken)
    {
        // Every id of one blob has the same length: upload id and a fixed-width index.
        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{_uploadId}-{_blockIds.Count:D8}"));
        try
        {
            using var content = new MemoryStream(block, 0, count, writable: false);
            await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (mapError(e) is { } mapped)
        {
            throw mapped;
        }
        _blockIds.Add(id);
    }
}
