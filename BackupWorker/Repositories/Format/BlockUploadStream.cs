namespace BackupWorker.Repositories.Format;

/// <summary>
/// Gathers what is written into blocks of a fixed size and hands each full block to <see cref="UploadBlockAsync"/>: the
/// shape of both object stores' uploads (Azure's staged blocks, S3's parts). Holds one block in memory.
/// </summary>
internal abstract class BlockUploadStream(int blockSize) : WriteOnlyStream
{
    private readonly byte[] _block = new byte[blockSize];
    private int _filled;

    protected int BlockSize => _block.Length;

    public sealed override void Write(ReadOnlySpan<byte> buffer) => throw new NotSupportedException("Write asynchronously.");

    public sealed override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            var n = Math.Min(buffer.Length, _block.Length - _filled);
            buffer[..n].CopyTo(_block.AsMemory(_filled));
            _filled += n;
            buffer = buffer[n..];
            if (_filled == _block.Length) await UploadBufferedAsync(cancellationToken);
        }
    }

    /// <summary>Uploads what is buffered as the last block; an empty one only when <paramref name="evenEmpty"/>.</summary>
    protected async Task UploadRestAsync(bool evenEmpty, CancellationToken cancellationToken)
    {
        if (_filled > 0 || evenEmpty) await UploadBufferedAsync(cancellationToken);
    }

    /// <summary>Uploads the first <paramref name="count"/> bytes of <paramref name="block"/> as the next block.</summary>
    protected abstract Task UploadBlockAsync(byte[] block, int count, CancellationToken cancellationToken);

    private async Task UploadBufferedAsync(CancellationToken cancellationToken)
    {
        await UploadBlockAsync(_block, _filled, cancellationToken);
        _filled = 0;
    }
}
