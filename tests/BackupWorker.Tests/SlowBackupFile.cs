using System.Diagnostics;

namespace BackupWorker.Tests;

/// <summary>
/// A backup file replaced by a named pipe that holds its bytes back: a restore reading it waits until the test
/// releases it, which makes a restore as slow as a test needs without a large file or a clock.
/// </summary>
public sealed class SlowBackupFile : IAsyncDisposable
{
    private readonly string _path;
    private readonly string _copy;
    private readonly byte[] _bytes;
    private bool _released;
    private FileStream? _held;

    private SlowBackupFile(string path, string copy, byte[] bytes) => (_path, _copy, _bytes) = (path, copy, bytes);

    public static async Task<SlowBackupFile> ReplaceAsync(string path)
    {
        var bytes = await File.ReadAllBytesAsync(path);
        var copy = path + ".held";
        File.Move(path, copy);
        using var mkfifo = Process.Start("mkfifo", ["-m", "600", path]);
        await mkfifo.WaitForExitAsync();
        Assert.Equal(0, mkfifo.ExitCode);
        return new SlowBackupFile(path, copy, bytes);
    }

    /// <summary>
    /// Waits (bounded) until a reader has opened the pipe, and keeps the writing end open without writing: from then on
    /// the reader waits in its read, where no cancellation reaches it, until <see cref="ReleaseAsync"/>.
    /// </summary>
    public async Task HoldReaderAsync(TimeSpan timeout) =>
        // Opening the writing end waits for the reader.
        _held = await Task.Run(() => new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)).WaitAsync(timeout);

    /// <summary>
    /// Waits (bounded) for the restore to open the pipe, puts the real file back for any later read, and hands the
    /// waiting reader the original bytes.
    /// </summary>
    public async Task ReleaseAsync(TimeSpan timeout)
    {
        await Task.Run(async () =>
        {
            await using var pipe = _held ?? new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            _held = null;
            File.Move(_copy, _path, overwrite: true); // the reader keeps the pipe it opened
            _released = true;
            await pipe.WriteAsync(_bytes);
        }).WaitAsync(timeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (_held is not null) await _held.DisposeAsync(); // the held reader sees its file end early
        if (!_released)
        {
            // Opening a pipe for reading and writing never waits; it lets a reader blocked in open() through, and
            // closing it ends the reader's file (it sees fewer bytes and fails its checksum).
            try { using var handle = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite); }
            catch (IOException) { }
            File.Move(_copy, _path, overwrite: true);
        }
    }
}
