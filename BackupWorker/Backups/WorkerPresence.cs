using BackupWorker.Hosting;

namespace BackupWorker.Backups;

/// <summary>
/// Which worker processes share the data directory right now: each holds an exclusive lock (flock) on its own
/// <c>&lt;data&gt;/locks/worker-&lt;id&gt;.presence</c> for its lifetime, which the kernel drops if it dies. A worker
/// that finds no other live file at start is <see cref="Alone"/>: whatever is left running in the catalog, and every
/// temp file in the roots, belongs to a worker that stopped. With others alive, start-up clean-up only touches what
/// it can prove is not theirs.
/// </summary>
public sealed class WorkerPresence : IDisposable
{
    private const string Prefix = "worker-";
    private const string Suffix = ".presence";
    private readonly FileStream _own;
    private readonly string _path;

    private WorkerPresence(string path, FileStream own, bool alone) => (_path, _own, Alone) = (path, own, alone);

    /// <summary>No other worker process held the data directory when this one entered it.</summary>
    public bool Alone { get; }

    public static WorkerPresence Enter(BackupPaths paths)
    {
        if (!Directory.Exists(paths.LockDirectory)) BackupPaths.CreatePrivateDirectory(paths.LockDirectory);
        var path = Path.Combine(paths.LockDirectory, $"{Prefix}{Guid.NewGuid():N}{Suffix}");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        var own = new FileStream(path, options);
        var alone = true;
        foreach (var other in Directory.EnumerateFiles(paths.LockDirectory, Prefix + "*" + Suffix))
        {
            if (other == path) continue;
            try
            {
                // Lockable: its process has ended (the kernel released the lock), so the file is a leftover.
                using (new FileStream(other, FileMode.Open, FileAccess.ReadWrite, FileShare.None)) { }
                File.Delete(other);
            }
            catch (FileNotFoundException) { } // removed by another starting worker
            catch (IOException) { alone = false; } // held: a live worker
            catch (UnauthorizedAccessException) { alone = false; }
        }
        return new WorkerPresence(path, own, alone);
    }

    public void Dispose()
    {
        _own.Dispose();
        try { File.Delete(_path); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
