using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;

namespace BackupWorker.Backups;

/// <summary>
/// One run of a schedule at a time: an in-process claim plus an exclusive lock (flock) on
/// <c>&lt;data&gt;/locks/&lt;hash of the name&gt;.lock</c>, which other worker processes sharing the data directory
/// respect and the kernel releases if the process dies.
/// </summary>
public sealed class ScheduleRunLock : IDisposable
{
    private static readonly ConcurrentDictionary<string, byte> Held = new(StringComparer.Ordinal);
    private readonly string _path;
    private readonly FileStream _file;

    private ScheduleRunLock(string path, FileStream file) => (_path, _file) = (path, file);

    /// <summary>The lock, or null when a run of the schedule holds it.</summary>
    public static ScheduleRunLock? TryAcquire(BackupPaths paths, string schedule)
    {
        var path = Path.Combine(paths.LockDirectory, Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(schedule)))[..32] + ".lock");
        if (!Held.TryAdd(path, 0)) return null;
        try
        {
            if (!Directory.Exists(paths.LockDirectory)) BackupPaths.CreatePrivateDirectory(paths.LockDirectory);
            var options = new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.ReadWrite, Share = FileShare.None };
            if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
            return new ScheduleRunLock(path, new FileStream(path, options));
        }
        catch (IOException e) when (IsLockConflict(e)) // Another process runs it.
        {
            Held.TryRemove(path, out _);
            return null;
        }
        catch
        {
            Held.TryRemove(path, out _);
            throw;
        }
    }

    /// <summary>
    /// A sharing or lock violation: on Windows ERROR_SHARING_VIOLATION/ERROR_LOCK_VIOLATION; on Unix .NET reports the
    /// flock's EWOULDBLOCK errno (11 on Linux, 35 on macOS/BSD) as the HResult.
    /// </summary>
    private static bool IsLockConflict(IOException e) =>
        OperatingSystem.IsWindows() ? (e.HResult & 0xFFFF) is 32 or 33
        : OperatingSystem.IsLinux() ? e.HResult == 11
        : e.HResult == 35;

    public void Dispose()
    {
        _file.Dispose();
        Held.TryRemove(_path, out _);
    }
}
