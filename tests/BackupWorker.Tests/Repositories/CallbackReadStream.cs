namespace BackupWorker.Tests.Repositories;

/// <summary>Reads from <c>inner</c>, and once <c>after</c> bytes have been read runs <c>callback</c> (once) before going on.</summary>
internal sealed class CallbackReadStream(Stream inner, long after, Func<Task> callback) : Stream
{
    private long _read;
    private bool _called;

    public override bool CanRead => true;
    public override bool CanSeek => false;
    public override bool CanWrite => false;
    public override long Length => throw new NotSupportedException();
    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }
    public override void Flush() { }
    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
    public override void SetLength(long value) => throw new NotSupportedException();
    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (!_called && _read >= after)
        {
            _called = true;
            await callback();
        }
        var n = await inner.ReadAsync(buffer, cancellationToken);
        _read += n;
        return n;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
}
