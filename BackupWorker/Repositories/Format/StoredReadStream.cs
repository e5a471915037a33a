using System.Security.Cryptography;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// The stored bytes as they arrive: counted and hashed; at their end checked against the recorded size and SHA-256.
/// Errors of the source (the network) are translated by <c>mapError</c>. Owns the source.
/// </summary>
internal sealed class StoredReadStream(Stream source, long expectedBytes, string expectedSha256, Func<Exception, Exception?> mapError) : ReadOnlyStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;
    private bool _checked;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_checked || buffer.IsEmpty) return 0;
        int n;
        try
        {
            n = await source.ReadAsync(buffer, cancellationToken);
        }
        catch (Exception e) when (mapError(e) is { } mapped)
        {
            throw mapped;
        }
        if (n > 0)
        {
            _read += n;
            if (_read > expectedBytes) throw new RepositoryContentException($"The object is longer than recorded ({expectedBytes} bytes).");
            _hash.AppendData(buffer.Span[..n]);
            return n;
        }
        if (_read != expectedBytes) throw new RepositoryContentException($"The object is truncated: {_read} of {expectedBytes} stored bytes.");
        if (!string.Equals(Convert.ToHexStringLower(_hash.GetHashAndReset()), expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new RepositoryContentException("The object's stored bytes do not match their recorded SHA-256: it is corrupted.");
        _checked = true;
        return 0;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _hash.Dispose();
            source.Dispose();
        }
        base.Dispose(disposing);
    }

    public override async ValueTask DisposeAsync()
    {
        await source.DisposeAsync();
        _hash.Dispose();
        await base.DisposeAsync();
    }
}
