using System.Security.Cryptography;

namespace BackupWorker.Repositories.Format;

/// <summary>Passes writes on to a sink, counting them and hashing them (SHA-256): the facts of what is stored.</summary>
internal sealed class HashingWriteStream(Stream sink) : WriteOnlyStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);

    public long BytesWritten { get; private set; }

    private bool _abandoned;

    /// <summary>From now on writes are dropped: the object failed, and nothing more of it may reach the sink.</summary>
    public void Abandon() => _abandoned = true;

    public string Sha256Hex() => Convert.ToHexStringLower(_hash.GetHashAndReset());

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        if (_abandoned) return;
        _hash.AppendData(buffer);
        BytesWritten += buffer.Length;
        sink.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_abandoned) return;
        _hash.AppendData(buffer.Span);
        BytesWritten += buffer.Length;
        await sink.WriteAsync(buffer, cancellationToken);
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing) _hash.Dispose();
        base.Dispose(disposing);
    }
}
