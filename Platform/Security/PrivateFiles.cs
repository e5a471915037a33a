namespace Platform.Security;

/// <summary>
/// SQLite files that hold private records (0600, in a 0700 directory). SQLite creates its -wal and -shm files with the
/// main file's mode, so the main file is created 0600 before SQLite first opens it; files and directories left
/// readable by others (an older version, a umask) are narrowed. Nothing to do on Windows (ACLs, not modes).
/// </summary>
public static class PrivateFiles
{
    private const UnixFileMode DirectoryMode = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    private const UnixFileMode FileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>
    /// Creates <paramref name="file"/>'s directory (0700) and the file (0600, empty) when missing; narrows the
    /// directory, the file and its -wal/-shm/-journal when others may read them. Returns the paths it narrowed.
    /// A directory with the sticky bit (a shared one such as /tmp) is never narrowed: it is not ours alone.
    /// </summary>
    public static IReadOnlyList<string> PrepareSqliteFile(string file)
    {
        var full = Path.GetFullPath(file);
        var directory = Path.GetDirectoryName(full)!;
        if (OperatingSystem.IsWindows())
        {
            Directory.CreateDirectory(directory);
            return [];
        }
        var narrowed = new List<string>();
        if (!Directory.Exists(directory)) Directory.CreateDirectory(directory, DirectoryMode);
        else if ((File.GetUnixFileMode(directory) & UnixFileMode.StickyBit) == 0)
        {
            try
            {
                Narrow(directory, DirectoryMode, narrowed);
            }
            catch (UnauthorizedAccessException) { } // another user's directory: not ours to narrow; the file still is
        }
        try
        {
            using (new FileStream(full, new FileStreamOptions { Mode = System.IO.FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = FileMode })) { }
        }
        catch (IOException) when (File.Exists(full)) { } // there already (or another process made it first)
        Narrow(full, FileMode, narrowed);
        foreach (var path in new[] { full + "-wal", full + "-shm", full + "-journal" })
        {
            // SQLite removes these when the last connection closes, and another process (a second worker on the same
            // data directory) may close its own at any moment: one gone before it could be narrowed needs nothing.
            try
            {
                if (File.Exists(path)) Narrow(path, FileMode, narrowed);
            }
            catch (FileNotFoundException) { }
        }
        return narrowed;
    }

    [System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
    private static void Narrow(string path, UnixFileMode allowed, List<string> narrowed)
    {
        var mode = File.GetUnixFileMode(path);
        if ((mode & ~allowed) == 0) return;
        File.SetUnixFileMode(path, mode & allowed);
        narrowed.Add(path);
    }
}
