using System.Runtime.InteropServices;
using System.Text;

namespace BackupWorker.Backups;

/// <summary>Creating backup files privately (0600), making them durable (fsync), and sweeping what a crash left behind.</summary>
public static partial class BackupFiles
{
    public const string PartialSuffix = ".partial";

    /// <summary>
    /// Creates a new file (never opens an existing one or follows a link there), 0600 on Unix. While the stream is
    /// open the file holds a flock (shared by default, so a provider may open it too), and <see cref="SweepPartials"/>,
    /// which needs it exclusively, leaves it alone.
    /// </summary>
    public static FileStream CreatePrivate(string path, FileShare share = FileShare.ReadWrite)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.ReadWrite, Share = share, BufferSize = 1 << 16 };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        return new FileStream(path, options);
    }

    /// <summary>Writes a new private file and fsyncs it.</summary>
    public static async Task WritePrivateAsync(string path, string text, CancellationToken cancellationToken)
    {
        await using var stream = CreatePrivate(path, FileShare.None);
        await stream.WriteAsync(Encoding.UTF8.GetBytes(text), cancellationToken);
        stream.Flush(flushToDisk: true);
    }

    /// <summary>A database name as a file name: characters a file name cannot hold, and spaces, become '_'.</summary>
    public static string SafeFileName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var safe = new string(name.Select(c => invalid.Contains(c) || c == ' ' ? '_' : c).ToArray());
        return safe.Length == 0 ? "database" : safe;
    }

    /// <summary>Deletes the file if it can: clean-up after a failed run, which must not fail in its turn.</summary>
    public static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }

    /// <summary>fsync of a directory, so the renames into it survive a power loss. Nothing to do on Windows.</summary>
    public static void FsyncDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) return;
        var fd = Open(directory, 0 /* O_RDONLY */);
        if (fd < 0) throw new IOException($"Could not open directory '{directory}' to fsync it (errno {Marshal.GetLastPInvokeError()}).");
        try
        {
            if (Fsync(fd) != 0) throw new IOException($"fsync of directory '{directory}' failed (errno {Marshal.GetLastPInvokeError()}).");
        }
        finally
        {
            _ = Close(fd);
        }
    }

    /// <summary>SQLite's side files of a database file: they go with it.</summary>
    private static readonly string[] SideSuffixes = ["-wal", "-shm", "-journal"];

    /// <summary>
    /// Deletes the temp files that runs, restores and drills stopped by a crash left under <paramref name="root"/>:
    /// <c>.*.partial</c> and SQLite's side files of them (<c>-wal</c>, <c>-shm</c>, <c>-journal</c>). Links are not
    /// followed. A temp file another process is still writing (it holds the file's lock) is left alone with its side
    /// files. Unless <paramref name="alone"/> (no other worker process is alive, see <see cref="WorkerPresence"/>),
    /// a temp file with a <c>-wal</c> or <c>-shm</c> beside it is left alone too: SQLite may have it open in another
    /// worker, and SQLite's locks are not the file lock checked here. Returns the files removed.
    /// </summary>
    public static IReadOnlyList<string> SweepPartials(string root, bool alone = false)
    {
        var removed = new List<string>();
        if (!Directory.Exists(root)) return removed;
        var enumeration = new EnumerationOptions
        {
            RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint, MatchType = MatchType.Simple,
        };
        var files = Directory.EnumerateFiles(root, ".*", enumeration).Where(f => new FileInfo(f).LinkTarget is null).ToList();
        var kept = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in files.Where(f => f.EndsWith(PartialSuffix, StringComparison.Ordinal)))
        {
            if (!alone && (File.Exists(file + "-wal") || File.Exists(file + "-shm")))
            {
                kept.Add(file);
                continue;
            }
            if (TryDeleteUnlocked(file)) removed.Add(file);
            else kept.Add(file);
        }
        // A side file goes once its temp file is gone (never while the temp file stays: a hot journal belongs to it).
        foreach (var file in files)
        {
            var side = SideSuffixes.FirstOrDefault(s => file.EndsWith(PartialSuffix + s, StringComparison.Ordinal));
            if (side is null || kept.Contains(file[..^side.Length])) continue;
            if (TryDeleteUnlocked(file)) removed.Add(file);
        }
        return removed;
    }

    private static bool TryDeleteUnlocked(string file)
    {
        try
        {
            using (new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.None)) File.Delete(file);
            return true;
        }
        catch (IOException) { return false; } // Locked by a live run elsewhere, or already gone.
        catch (UnauthorizedAccessException) { return false; }
    }

    [DllImport("libc", EntryPoint = "open", SetLastError = true)]
    private static extern int Open([MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags);

    [DllImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static extern int Fsync(int fd);

    [DllImport("libc", EntryPoint = "close", SetLastError = true)]
    private static extern int Close(int fd);
}
