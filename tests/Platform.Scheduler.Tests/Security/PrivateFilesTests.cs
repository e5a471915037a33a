using Platform.Security;

namespace Platform.Scheduler.Tests.Security;

/// <summary>
/// Preparing a private SQLite file (the scheduler's store, the worker's catalog) beside processes that have it open:
/// SQLite makes and removes its -wal and -shm files as their connections come and go.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes
public class PrivateFilesTests
{
    [Fact]
    public async Task A_shm_file_removed_by_another_process_meanwhile_does_not_stop_the_start()
    {
        // A second worker on a shared data directory started while the first opened and closed its catalog: the -shm
        // file went between this start's look at it and its narrowing, and the start crashed (FileNotFoundException).
        var data = Directory.CreateTempSubdirectory("private-files-vanishing-").FullName;
        var database = Path.Combine(data, "catalog.db");
        using var stop = new CancellationTokenSource();
        var cycles = 0;
        var churn = Task.Factory.StartNew(() =>
        {
            // Made readable by others (as an older version or a umask could leave it), so each start narrows it.
            var readable = new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.OtherRead };
            while (!stop.IsCancellationRequested)
            {
                using (new FileStream(database + "-shm", readable)) { }
                File.Delete(database + "-shm");
                Interlocked.Increment(ref cycles);
            }
        }, TaskCreationOptions.LongRunning);
        try
        {
            // Until the file has come and gone many times during the starts (bounded: a busy machine may run it slowly).
            var narrowedShm = 0;
            var deadline = DateTime.UtcNow.AddSeconds(20);
            while (DateTime.UtcNow < deadline && (Volatile.Read(ref cycles) < 20_000 || narrowedShm < 100))
                if (PrivateFiles.PrepareSqliteFile(database).Contains(database + "-shm")) narrowedShm++;
            Assert.True(narrowedShm > 0, "the -shm file was never there to narrow: the test proved nothing");
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(database));
        }
        finally
        {
            await stop.CancelAsync();
            await churn.WaitAsync(TimeSpan.FromSeconds(30));
            Directory.Delete(data, true);
        }
    }
}
