using BackupWorker.Backups;

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

    /// <summary>How often the worker ends what a stopped worker replica left running in the catalog (zero: only at start).</summary>
    public TimeSpan ReconcileInterval { get; set; } = TimeSpan.FromMinutes(1);

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
