using System.Security.Cryptography;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// Reads chunks written by <see cref="ChunkEncryptStream"/> and hands out a chunk's plaintext only once its tag is
/// verified. The last chunk is the one the source ends after (a one-byte look-ahead tells), so a truncated object
/// ends on a chunk sealed as not-last and fails authentication. Does not own the source.
/// </summary>
internal sealed class ChunkDecryptStream : ReadOnlyStream
{
    private readonly Stream _source;
    private readonly ObjectHeader _header;
    private readonly AesGcm _aes;
    private readonly byte[] _sealed;
    private readonly byte[] _plain;
    private readonly byte[] _peek = new byte[1];
    private int _carried;
    private int _position;
    private int _length;
    private ulong _index;
    private bool _lastRead;

    public ChunkDecryptStream(Stream source, ObjectHeader header, ObjectKeys keys)
    {
        _source = source;
        _header = header;
        _aes = new AesGcm(keys.ChunkKey, ChunkNonce.TagLength);
        _sealed = new byte[header.ChunkSize + ChunkNonce.TagLength];
        _plain = new byte[header.ChunkSize];
    }

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_position == _length)
        {
            if (_lastRead) return 0;
            await LoadAsync(cancellationToken);
        }
        var n = Math.Min(buffer.Length, _length - _position);
        _plain.AsMemory(_position, n).CopyTo(buffer);
        _position += n;
        return n;
    }

    private async Task LoadAsync(CancellationToken cancellationToken)
    {
        var filled = _carried + await _source.ReadAtLeastAsync(_sealed.AsMemory(_carried), _sealed.Length - _carried, throwOnEndOfStream: false, cancellationToken);
        _carried = 0;
        // A full chunk is the last one only if nothing follows it: look one byte ahead.
        var last = filled < _sealed.Length || await _source.ReadAsync(_peek, cancellationToken) == 0;
        if (filled < ChunkNonce.TagLength) throw new RepositoryContentException($"The object is truncated: chunk {_index} is incomplete.");
        Decrypt(filled, last);
        if (last) _lastRead = true;
        else
        {
            _sealed[0] = _peek[0];
            _carried = 1;
        }
    }

    private void Decrypt(int filled, bool last)
    {
        var lastByte = last ? (byte)1 : (byte)0;
        Span<byte> nonce = stackalloc byte[ChunkNonce.NonceLength];
        ChunkNonce.Write(nonce, _index, lastByte);
        var length = filled - ChunkNonce.TagLength;
        try
        {
            _aes.Decrypt(nonce, _sealed.AsSpan(0, length), _sealed.AsSpan(length, ChunkNonce.TagLength), _plain.AsSpan(0, length),
                ChunkNonce.AssociatedData(_header.Bytes, _index, lastByte));
        }
        catch (AuthenticationTagMismatchException e)
        {
            CryptographicOperations.ZeroMemory(_plain);
            throw new RepositoryContentException(
                $"Chunk {_index} of the object failed authentication: the object is corrupted, truncated, reordered or tampered with.", e);
        }
        _index++;
        _position = 0;
        _length = length;
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _aes.Dispose();
            CryptographicOperations.ZeroMemory(_plain);
        }
        base.Dispose(disposing);
    }
}
