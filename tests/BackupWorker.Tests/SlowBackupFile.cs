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
    /// Waits (bounded) until <paramref name="readers"/> threads of this process are blocked opening the pipe (the kernel
    /// names that wait <c>wait_for_partner</c>): from then on no cancellation reaches them. Nothing else signals it.
    /// </summary>
    public static Task WaitForBlockedReadersAsync(int readers, TimeSpan timeout) =>
        TestSupport.Poll.UntilAsync(() => Task.FromResult(BlockedInPipeOpen() >= readers), timeout, $"{readers} readers blocked opening the pipe");

    private static int BlockedInPipeOpen()
    {
        var blocked = 0;
        foreach (var task in Directory.EnumerateDirectories("/proc/self/task"))
        {
            try
            {
                if (File.ReadAllText(Path.Combine(task, "wchan")) == "wait_for_partner") blocked++;
            }
            catch (IOException) { } // the thread ended meanwhile
            catch (UnauthorizedAccessException) { }
        }
        return blocked;
    }

    /// <summary>
    /// Waits (bounded) for the restore to open the pipe, puts the real file back for any later read, and hands the
    /// waiting reader the original bytes.
    /// </summary>
    public async Task ReleaseAsync(TimeSpan timeout)
    {
        await Task.Run(async () =>
        {
            // Opening the writing end waits for the reader.
            await using var pipe = new FileStream(_path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite);
            File.Move(_copy, _path, overwrite: true); // the reader keeps the pipe it opened
            _released = true;
            await pipe.WriteAsync(_bytes);
        }).WaitAsync(timeout);
    }

    public ValueTask DisposeAsync()
    {
        if (!_released)
        {
            // Opening a pipe for reading and writing never waits; it lets a reader blocked in open() through, and
            // closing it ends the reader's file (it sees fewer bytes and fails its checksum).
            try { using var handle = File.OpenHandle(_path, FileMode.Open, FileAccess.ReadWrite); }
            catch (IOException) { }
            File.Move(_copy, _path, overwrite: true);
        }
        return ValueTask.CompletedTask;
    }
}
