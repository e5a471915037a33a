using BackupWorker.Hosting;

namespace BackupWorker.Backups;

/// <summary>Absolute paths derived from <see cref="BackupOptions"/>.</summary>
public sealed class BackupPaths
{
    /// <summary>Longest location a trigger payload may name (an operator's is bounded tighter, see <see cref="BackupLocationRules"/>).</summary>
    public const int MaxLocationLength = 1024;

    public const string DefaultBackupRoot = "backups";
    public const string DefaultRestoreRoot = "restores";

    /// <param name="databaseFiles">The configured SQLite databases' files (name, path as configured), which no backup may land among.</param>
    public BackupPaths(string dataDirectory, string contentRoot, string? backupRoot = null, string? restoreRoot = null,
        IEnumerable<KeyValuePair<string, string>>? databaseFiles = null)
    {
        DataDirectory = Path.GetFullPath(dataDirectory, contentRoot);
        BackupRoot = Path.TrimEndingDirectorySeparator(Resolve(string.IsNullOrWhiteSpace(backupRoot) ? DefaultBackupRoot : backupRoot));
        // As RestoreService resolves Backup:RestoreRoot, so the roots checked are the roots used.
        RestoreRoot = Path.TrimEndingDirectorySeparator(Resolve(restoreRoot ?? DefaultRestoreRoot));
        List<(string, string)> roots = [("backup root (Backup:BackupRoot)", BackupRoot), ("restore root (Backup:RestoreRoot)", RestoreRoot), ("catalog", CatalogFile)];
        foreach (var (name, file) in databaseFiles ?? []) roots.Add(($"file of database '{name}' (Backup:Databases:{name})", Resolve(file)));
        Roots = roots;
    }

    /// <summary>The paths of <paramref name="options"/>: its roots and the files of its SQLite databases.</summary>
    public static BackupPaths From(BackupOptions options, string contentRoot) =>
        new(options.DataDirectory, contentRoot, options.BackupRoot, options.RestoreRoot, SqliteFiles(options));

    public string DataDirectory { get; }

    /// <summary>The directory every backup location resolves under.</summary>
    public string BackupRoot { get; }

    /// <summary>The directory SQLite restores, safety copies and drill scratch go under.</summary>
    public string RestoreRoot { get; }

    /// <summary>
    /// What must never contain another (role, absolute path): the backup root first, then the restore root, the
    /// catalog and each configured SQLite database file. See <see cref="BackupRoots"/>.
    /// </summary>
    public IReadOnlyList<(string Role, string Path)> Roots { get; }

    public string CatalogFile => Path.Combine(DataDirectory, "catalog.db");

    /// <summary>Where the per-schedule run locks live (see <see cref="Backups.ScheduleRunLock"/>).</summary>
    public string LockDirectory => Path.Combine(DataDirectory, "locks");

    /// <summary>An absolute path is taken as is; a relative one is under the data directory. Not for backup locations.</summary>
    public string Resolve(string path) => Path.IsPathRooted(path) ? Path.GetFullPath(path) : Path.GetFullPath(path, DataDirectory);

    /// <summary>
    /// The absolute directory a backup location names: relative to <see cref="BackupRoot"/>, or absolute but inside
    /// it. Refused (with the reason) when it is empty, too long, holds a control character, '\' or ':' (drive-like),
    /// resolves outside the root, or passes through a symbolic link (or anything not a directory) below the root.
    /// Creates nothing.
    /// </summary>
    public string ResolveLocation(string? location)
    {
        if (string.IsNullOrWhiteSpace(location)) throw new BackupLocationException("The backup location is empty.");
        if (location.Length > MaxLocationLength) throw new BackupLocationException($"The backup location is longer than {MaxLocationLength} characters.");
        if (location.Any(char.IsControl)) throw new BackupLocationException("The backup location contains a control character.");
        if (location.Contains('\\') || location.Contains(':'))
            throw new BackupLocationException($"The backup location '{location}' contains '\\' or ':' (a drive or Windows path).");
        var full = Path.TrimEndingDirectorySeparator(Path.IsPathRooted(location) ? Path.GetFullPath(location) : Path.GetFullPath(location, BackupRoot));
        if (full != BackupRoot && !full.StartsWith(BackupRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new BackupLocationException($"The backup location '{location}' resolves outside the backup root '{BackupRoot}'.");
        foreach (var segment in full[BackupRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
            if (System.Text.Encoding.UTF8.GetByteCount(segment) > 255)
                throw new BackupLocationException($"A segment of the backup location '{location}' is longer than 255 bytes.");
        foreach (var directory in DirectoriesBelowRoot(full)) CheckPlainDirectory(directory, location, mustExist: false);
        // The roots are checked apart at start; this keeps a backup from landing among restores, safety copies, the
        // catalog or a database however the roots were set.
        foreach (var (role, path) in Roots.Skip(1))
            if (BackupRoots.Contains(full, path) || BackupRoots.Contains(path, full))
                throw new BackupLocationException($"The backup location '{location}' resolves to '{full}', which overlaps the {role} '{path}'.");
        return full;
    }

    private static IEnumerable<KeyValuePair<string, string>> SqliteFiles(BackupOptions options)
    {
        foreach (var (name, database) in options.Databases)
        {
            if (!database.Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase)) continue;
            string? file;
            try
            {
                file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(database.ConnectionString).DataSource;
            }
            catch (ArgumentException)
            {
                continue; // Unreadable: each backup of it fails with the reason.
            }
            if (string.IsNullOrWhiteSpace(file) || file == ":memory:" || file.StartsWith("file:", StringComparison.OrdinalIgnoreCase)) continue;
            yield return new(name, file);
        }
    }

    /// <summary>
    /// Creates the root and each missing directory down to <paramref name="directory"/> one level at a time (0700 on
    /// Unix), checking again that none is a symbolic link. <paramref name="directory"/> comes from <see cref="ResolveLocation"/>.
    /// </summary>
    public void CreateLocation(string directory, string location)
    {
        if (!Directory.Exists(BackupRoot)) CreatePrivateDirectory(BackupRoot);
        foreach (var path in DirectoriesBelowRoot(directory))
        {
            if (!Path.Exists(path)) CreatePrivateDirectory(path);
            CheckPlainDirectory(path, location, mustExist: true);
        }
    }

    /// <summary>One directory, 0700 on Unix (the umask can only narrow it). Its parent must exist.</summary>
    public static void CreatePrivateDirectory(string path)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(path);
        else Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private IEnumerable<string> DirectoriesBelowRoot(string full)
    {
        var current = BackupRoot;
        foreach (var segment in full[BackupRoot.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, segment);
            yield return current;
        }
    }

    private static void CheckPlainDirectory(string path, string location, bool mustExist)
    {
        var info = new DirectoryInfo(path);
        if (info.LinkTarget is not null)
            throw new BackupLocationException($"The backup location '{location}' passes through the symbolic link '{path}'; links are not followed.");
        if (info.Exists) return;
        if (File.Exists(path)) throw new BackupLocationException($"The backup location '{location}' passes through '{path}', which is not a directory.");
        if (mustExist) throw new BackupLocationException($"The backup directory '{path}' could not be created.");
    }
}
