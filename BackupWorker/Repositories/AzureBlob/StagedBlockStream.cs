using System.Text;
using Azure.Storage.Blobs.Models;
using Azure.Storage.Blobs.Specialized;
using BackupWorker.Repositories.Format;

namespace BackupWorker.Repositories.AzureBlob;

/// <summary>
/// Uploads what is written as staged blocks of a block blob; only <see cref="CommitAsync"/> makes the blob exist (or
/// replaces it). Blocks of an upload that never commits stay invisible and the service discards them. Holds one
/// block in memory.
/// </summary>
internal sealed class StagedBlockStream(BlockBlobClient blob, int blockSize, Func<Exception, Exception?> mapError) : WriteOnlyStream
{
    private readonly byte[] _block = new byte[blockSize];
    private readonly List<string> _blockIds = [];
    private readonly string _uploadId = Guid.NewGuid().ToString("N");
    private int _filled;

    public override void Write(ReadOnlySpan<byte> buffer) => throw new NotSupportedException("Write asynchronously.");

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var n = Math.Min(buffer.Length, _block.Length - _filled);
            buffer[..n].CopyTo(_block.AsMemory(_filled));
            _filled += n;
            buffer = buffer[n..];
            if (_filled == _block.Length) await StageAsync(cancellationToken);
        }
    }

    /// <summary>Stages what is left and commits the block list with the object's metadata.</summary>
    public async Task CommitAsync(IDictionary<string, string> metadata, CancellationToken cancellationToken)
    {
        if (_filled > 0) await StageAsync(cancellationToken);
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

    private async Task StageAsync(CancellationToken cancellationToken)
    {
        // Every id of one blob has the same length: upload id and a fixed-width index.
        var id = Convert.ToBase64String(Encoding.ASCII.GetBytes($"{_uploadId}-{_blockIds.Count:D8}"));
        try
        {
            using var content = new MemoryStream(_block, 0, _filled, writable: false);
            await blob.StageBlockAsync(id, content, cancellationToken: cancellationToken);
        }
        catch (Exception e) when (mapError(e) is { } mapped)
        {
            throw mapped;
        }
        _blockIds.Add(id);
        _filled = 0;
    }
}
