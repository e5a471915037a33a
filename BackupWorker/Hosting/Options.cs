namespace BackupWorker.Hosting;

/// <summary>Section <c>Backup</c>: where backups, the catalog and the embedded database live, and which databases exist.</summary>
public sealed class BackupOptions
{
    public const string SectionName = "Backup";

    /// <summary>Root for relative paths: the catalog, relative backup locations, relative SQLite files.</summary>
    public string DataDirectory { get; set; } = "./.data/backupworker";

    /// <summary>Databases by the name a job's <c>DBName</c> uses.</summary>
    public Dictionary<string, DatabaseOptions> Databases { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The pg_dump executable (a name looked up on PATH, or a full path).</summary>
    public string PgDumpPath { get; set; } = "pg_dump";

    /// <summary>pg_restore, used to check a dump reads back; the check is skipped when it is not installed.</summary>
    public string PgRestorePath { get; set; } = "pg_restore";

    /// <summary>How long one trigger's backup may take before it is abandoned (and reported failed).</summary>
    public TimeSpan RunTimeout { get; set; } = TimeSpan.FromMinutes(10);
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

    // The how-to writes to "/backup-dir". Absolute locations are honoured as given, so the demo default is relative
    // (under the data directory): a first start must not need write access to the filesystem root.
    public string BackupLocation { get; set; } = "backups/my-prod-db";

    /// <summary>Retention of the demo schedule: keep the newest N backups.</summary>
    public int? KeepLast { get; set; } = 5;

    /// <summary>Upper bound on waiting for the sidecar before the demo job is given up (logged).</summary>
    public TimeSpan SidecarWait { get; set; } = TimeSpan.FromMinutes(5);
}

/// <summary>Absolute paths derived from <see cref="BackupOptions"/>.</summary>
public sealed class BackupPaths
{
    public BackupPaths(string dataDirectory, string contentRoot)
    {
        DataDirectory = Path.GetFullPath(dataDirectory, contentRoot);
    }

    public string DataDirectory { get; }

    public string CatalogFile => Path.Combine(DataDirectory, "catalog.db");

    /// <summary>An absolute path is taken as is; a relative one is under the data directory.</summary>
    public string Resolve(string path) => Path.IsPathRooted(path) ? Path.GetFullPath(path) : Path.GetFullPath(path, DataDirectory);
}
