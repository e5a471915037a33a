using System.Security.Cryptography;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// The original bytes of an object, as the caller reads them. Its end is reported (0) only after every check passed:
/// nothing follows the compressed stream, the stored bytes match their size and SHA-256, the original bytes theirs.
/// Any failure is sticky: a reader that goes on after one gets it again, never an end that looks like success.
/// </summary>
internal sealed class OriginalReadStream(
    Stream decoded, Stream body, StoredReadStream stored, long expectedBytes, string expectedSha256, IEnumerable<IDisposable> owned) : ReadOnlyStream
{
    private readonly IncrementalHash _hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
    private long _read;
    private bool _ended;
    private Exception? _failure;

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (_failure is not null) throw _failure;
        if (_ended || buffer.IsEmpty) return 0;
        try
        {
            var n = await decoded.ReadAsync(buffer, cancellationToken);
            if (n > 0)
            {
                _read += n;
                if (_read > expectedBytes) throw new RepositoryContentException($"The object holds more than its recorded {expectedBytes} bytes.");
                _hash.AppendData(buffer.Span[..n]);
                return n;
            }
            await CheckEndAsync(cancellationToken);
            _ended = true;
            return 0;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e)
        {
            _failure = e is RepositoryContentException or RepositoryKeyException or RepositoryUnavailableException
                ? e
                : new RepositoryContentException("The object could not be decompressed: it is corrupted.", e);
            throw _failure;
        }
    }

    private async Task CheckEndAsync(CancellationToken cancellationToken)
    {
        var probe = new byte[1];
        if (!ReferenceEquals(decoded, body) && await body.ReadAsync(probe, cancellationToken) != 0)
            throw new RepositoryContentException("The object has data after its compressed stream.");
        // The stored stream checks its size and digest when it reaches its end.
        if (await stored.ReadAsync(probe, cancellationToken) != 0)
            throw new RepositoryContentException("The object has data after its last chunk.");
        if (_read != expectedBytes) throw new RepositoryContentException($"The object is truncated: {_read} of {expectedBytes} original bytes.");
        if (!string.Equals(Convert.ToHexStringLower(_hash.GetHashAndReset()), expectedSha256, StringComparison.OrdinalIgnoreCase))
            throw new RepositoryContentException("The object's restored bytes do not match their recorded SHA-256.");
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            if (!ReferenceEquals(decoded, body)) decoded.Dispose();
            if (!ReferenceEquals(body, stored)) body.Dispose();
            stored.Dispose();
            foreach (var o in owned) o.Dispose();
            _hash.Dispose();
        }
        base.Dispose(disposing);
    }
}
