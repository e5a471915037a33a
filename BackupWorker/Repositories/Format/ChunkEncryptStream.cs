using System.Security.Cryptography;

namespace BackupWorker.Repositories.Format;

/// <summary>
/// Encrypts what is written in chunks of the header's chunk size (AES-256-GCM; each chunk is its ciphertext then its
/// tag). A full chunk is held back until more bytes come, because only <see cref="FinishAsync"/> knows which chunk
/// is the last (it may be full or empty). Does not own the sink.
/// </summary>
internal sealed class ChunkEncryptStream : WriteOnlyStream
{
    private readonly Stream _sink;
    private readonly ObjectHeader _header;
    private readonly AesGcm _aes;
    private readonly byte[] _plain;
    private readonly byte[] _sealed;
    private int _filled;
    private ulong _index;
    private bool _finished;

    public ChunkEncryptStream(Stream sink, ObjectHeader header, ObjectKeys keys)
    {
        _sink = sink;
        _header = header;
        _aes = new AesGcm(keys.ChunkKey, ChunkNonce.TagLength);
        _plain = new byte[header.ChunkSize];
        _sealed = new byte[header.ChunkSize + ChunkNonce.TagLength];
    }

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (!buffer.IsEmpty)
        {
            if (_filled == _plain.Length) _sink.Write(Seal(last: false).Span);
            var n = Take(buffer);
            buffer = buffer[n..];
        }
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (!buffer.IsEmpty)
        {
            if (_filled == _plain.Length) await _sink.WriteAsync(Seal(last: false), cancellationToken);
            var n = Take(buffer.Span);
            buffer = buffer[n..];
        }
    }

    /// <summary>Seals what is held as the last chunk (an empty stream still has one, empty, last chunk).</summary>
    public async Task FinishAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        await _sink.WriteAsync(Seal(last: true), cancellationToken);
        _finished = true;
    }

    private int Take(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_finished, this);
        var n = Math.Min(buffer.Length, _plain.Length - _filled);
        buffer[..n].CopyTo(_plain.AsSpan(_filled));
        _filled += n;
        return n;
    }

    private ReadOnlyMemory<byte> Seal(bool last)
    {
        var lastByte = last ? (byte)1 : (byte)0;
        Span<byte> nonce = stackalloc byte[ChunkNonce.NonceLength];
        ChunkNonce.Write(nonce, _index, lastByte);
        var length = _filled;
        _aes.Encrypt(nonce, _plain.AsSpan(0, length), _sealed.AsSpan(0, length), _sealed.AsSpan(length, ChunkNonce.TagLength),
            ChunkNonce.AssociatedData(_header.Bytes, _index, lastByte));
        _index++;
        _filled = 0;
        return _sealed.AsMemory(0, length + ChunkNonce.TagLength);
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
