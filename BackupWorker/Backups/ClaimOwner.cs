using BackupWorker.Hosting;

namespace BackupWorker.Backups;

/// <summary>
/// A worker process's name in the claims it writes into the shared catalog (ticks, offsite copies), and the proof that
/// it is alive: the process holds an exclusive lock (flock) on <c>&lt;data&gt;/locks/tick-owner-&lt;name&gt;.lock</c>
/// while it lives, which the kernel drops when it dies. So a claim naming a dead process is taken over at once, and one
/// naming a live process is left to it, however long its work takes. One per process (a singleton).
/// </summary>
public sealed class ClaimOwner : IDisposable
{
    // Named when only tick claims had owners; a worker of that release reads it to tell this one alive.
    private const string Prefix = "tick-owner-";
    private readonly string _directory;
    private readonly FileStream _lock;

    /// <summary>Takes a fresh name and holds its lock.</summary>
    public ClaimOwner(BackupPaths paths)
    {
        _directory = paths.LockDirectory;
        if (!Directory.Exists(_directory)) BackupPaths.CreatePrivateDirectory(_directory);
        SweepDeadFiles();
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = FileShare.None };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        _lock = new FileStream(FileOf(Name), options);
    }

    /// <summary>This process's name in claims.</summary>
    public string Name { get; } = Guid.NewGuid().ToString("N");

    /// <summary>Whether another process named <paramref name="owner"/> is alive (this process's own name is the caller's to judge).</summary>
    public bool IsOtherAlive(string? owner)
    {
        // An owner name is read back from a file others can write: only our own format is used in a path.
        if (owner is null || owner == Name || owner.Length != 32 || !owner.All(char.IsAsciiHexDigitLower)) return false;
        return IsLocked(FileOf(owner));
    }

    public void Dispose()
    {
        _lock.Dispose();
        try { File.Delete(FileOf(Name)); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>
    /// Whether a live process holds the file's lock. Only a lock conflict counts as alive: any other failure lets the
    /// claim be taken over, since work done twice is the lesser harm than a backup never made.
    /// </summary>
    private static bool IsLocked(string file)
    {
        try
        {
            using var probe = new FileStream(file, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
            return false;
        }
        catch (IOException e) when (IsLockConflict(e))
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    // As ScheduleRunLock: a sharing/lock violation on Windows, flock's EWOULDBLOCK errno on Unix (11 Linux, 35 BSD).
    private static bool IsLockConflict(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 32 or 33
        : OperatingSystem.IsLinux() ? e.HResult == 11
        : e.HResult == 35;

    private string FileOf(string owner) => Path.Combine(_directory, Prefix + owner + ".lock");

    /// <summary>Files of processes that died (nobody holds their lock); the claims naming them are taken over anyway.</summary>
    private void SweepDeadFiles()
    {
        foreach (var file in Directory.EnumerateFiles(_directory, Prefix + "*.lock"))
        {
            // A file just created may not be locked yet by its process: only old ones are judged.
            if (File.GetLastWriteTimeUtc(file) > DateTime.UtcNow - TimeSpan.FromMinutes(1) || IsLocked(file)) continue;
            try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
