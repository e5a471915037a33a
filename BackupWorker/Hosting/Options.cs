namespace BackupWorker.Hosting;

/// <summary>Section <c>Backup</c>: where backups, the catalog and the embedded database live, and which databases exist.</summary>
public sealed class BackupOptions
{
    public const string SectionName = "Backup";

    /// <summary>Root for relative paths: the catalog, relative SQLite files, the backup root and the restore root.</summary>
    public string DataDirectory { get; set; } = "./.data/backupworker";

    /// <summary>
    /// Every backup location resolves under this directory (relative to the data directory; default <c>backups</c>,
    /// so location <c>x</c> is <c>&lt;data&gt;/backups/x</c>). A location leaving it is refused. It may neither contain
    /// nor lie inside the restore root, the catalog or a configured SQLite database: the worker refuses to start.
    /// </summary>
    public string? BackupRoot { get; set; } = BackupPaths.DefaultBackupRoot;

    /// <summary>Databases by the name a job's <c>DBName</c> uses.</summary>
    public Dictionary<string, DatabaseOptions> Databases { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The pg_dump executable (a name looked up on PATH, or a full path).</summary>
    public string PgDumpPath { get; set; } = "pg_dump";

    /// <summary>pg_restore, used to check a dump reads back; the check is skipped when it is not installed.</summary>
    public string PgRestorePath { get; set; } = "pg_restore";

    /// <summary>How long one trigger's backup may take before it is abandoned (and reported failed).</summary>
    public TimeSpan RunTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Where SQLite restores and safety copies go (relative to the data directory; default <c>restores</c>).</summary>
    public string RestoreRoot { get; set; } = "restores";

    /// <summary>psql, used by PostgreSQL restores to create, rename and drop databases.</summary>
    public string PsqlPath { get; set; } = "psql";

    /// <summary>How long one restore or drill may take before it is abandoned (and recorded failed).</summary>
    public TimeSpan RestoreTimeout { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// How long a restore over an existing SQLite file waits for its write lock (SQLite's busy timeout) before it is
    /// refused with 409 and nothing is touched: a writer holding the lock longer is a database in use.
    /// </summary>
    public TimeSpan RestoreLockTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Run history kept in the catalog: runs older than this are removed, unless their backup is still on disk
    /// (those go when retention removes the backup and the run is old enough).
    /// </summary>
    public TimeSpan RunHistoryMaxAge { get; set; } = TimeSpan.FromDays(90);

    /// <summary>At most this many runs without a backup on disk are kept (the newest); older ones are removed.</summary>
    public int RunHistoryMaxCount { get; set; } = 10_000;

    /// <summary>Backups and drills of one database at once; more wait, queued.</summary>
    public int MaxConcurrentPerDatabase { get; set; } = 1;

    /// <summary>Backups and drills at once on one database server (PostgreSQL host and port; the local disk for SQLite files).</summary>
    public int MaxConcurrentPerServer { get; set; } = 2;

    /// <summary>Backups and drills at once in the whole worker.</summary>
    public int MaxConcurrentWork { get; set; } = 4;

    /// <summary>How often the worker looks for schedules whose job is gone, to record them as ended (zero: only when listed).</summary>
    public TimeSpan ScheduleCheckInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>An inconclusive drill is retried this long after it ended, then twice as long after each further one.</summary>
    public TimeSpan DrillRetryInitialDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>The longest wait between retries of an inconclusive drill.</summary>
    public TimeSpan DrillRetryMaxDelay { get; set; } = TimeSpan.FromHours(6);

    /// <summary>How often the worker looks for inconclusive drills whose retry is due.</summary>
    public TimeSpan DrillRetryPollInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>A copy into an object repository that did not make it is retried this long after, then twice as long after each further attempt.</summary>
    public TimeSpan CopyRetryInitialDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The longest wait between attempts of a copy into an object repository.</summary>
    public TimeSpan CopyRetryMaxDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>How often the worker looks for copies into object repositories whose next attempt is due.</summary>
    public TimeSpan CopyRetryPollInterval { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>Fills each database's empty connection string from <c>ConnectionStrings:&lt;database&gt;</c>.</summary>
    public static void AddConnectionStrings(BackupOptions options, IConfiguration configuration)
    {
        foreach (var (name, database) in options.Databases)
            if (string.IsNullOrEmpty(database.ConnectionString) && configuration.GetConnectionString(name) is { Length: > 0 } connectionString)
                database.ConnectionString = connectionString;
    }

    /// <summary>
    /// Failure policy of the backup jobs the worker schedules (Dapr's constant policy): a trigger that fails, as every
    /// one does while the worker or its sidecar restarts, is retried this often. Dapr's default (1 s, 3 retries) gives
    /// a tick up within 4 s, before a restarted worker is back.
    /// </summary>
    public TimeSpan TriggerRetryInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How long a tick of a recurring schedule is retried, counted from its scheduled time (zero: Dapr's drop policy).
    /// Ticks fire one after another, so a tick still retrying holds the next ones back; once it is delivered they
    /// follow at once and the worker answers them from the same backup.
    /// </summary>
    public TimeSpan TriggerRetryFor { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>The same for a job with one tick (a <c>dueTime</c> alone, or one repeat): dropped, it leaves no backup at all.</summary>
    public TimeSpan OneShotTriggerRetryFor { get; set; } = TimeSpan.FromHours(1);
}

public sealed class DatabaseOptions
{
    /// <summary><c>sqlite</c> or <c>postgres</c>.</summary>
    public string Provider { get; set; } = "sqlite";

    /// <summary>
    /// SQLite: <c>Data Source=file.db</c> (a relative file resolves under the data directory).
    /// PostgreSQL: <c>Host=..;Port=..;Username=..;Password=..;Database=..</c> (Database defaults to the configured name).
    /// </summary>
    public string ConnectionString { get; set; } = "";
}

/// <summary>Section <c>Demo</c>: the how-to's scenario, scheduled by itself on first start.</summary>
public sealed class DemoOptions
{
    public const string SectionName = "Demo";

    public bool Enabled { get; set; } = true;

    public string JobName { get; set; } = "prod-db-backup";

    public string Schedule { get; set; } = "@every 1m";

    public int Repeats { get; set; } = 10;

    public string Database { get; set; } = "my-prod-db";

    // The how-to writes to "/backup-dir". Every location must resolve under Backup:BackupRoot, so the demo default is
    // relative (<data>/backups/my-prod-db): a first start must not need write access to the filesystem root.
    public string BackupLocation { get; set; } = "my-prod-db";

    /// <summary>Retention of the demo schedule: keep the newest N backups.</summary>
    public int? KeepLast { get; set; } = 5;

    /// <summary>Restore drill of every Nth backup of the demo schedule (null: no drills).</summary>
    public int? DrillEvery { get; set; } = 5;

    /// <summary>Upper bound on waiting for the sidecar before the demo job is given up (logged).</summary>
    public TimeSpan SidecarWait { get; set; } = TimeSpan.FromMinutes(5);
}

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

/// <summary>A backup location the worker refuses to write to.</summary>
public sealed class BackupLocationException(string message) : Exception(message);
