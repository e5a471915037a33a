using Shared;
using System.Globalization;
using Microsoft.Data.Sqlite;
using static BackupWorker.Backups.CatalogSql;

namespace BackupWorker.Backups;

/// <summary>
/// The catalog: every schedule this worker created and every run, in a SQLite file under the data directory.
/// Each operation opens its own connection (no pooling, so no file stays open) and WAL lets concurrent runs write.
/// </summary>
public sealed class BackupCatalog
{
    private readonly string _connectionString;

    public BackupCatalog(BackupPaths paths)
    {
        // 0600 in a 0700 directory before SQLite opens it (its -wal and -shm take the file's mode): the records are private.
        Platform.Security.PrivateFiles.PrepareSqliteFile(paths.CatalogFile);
        _connectionString = new SqliteConnectionStringBuilder
        {
            DataSource = paths.CatalogFile,
            Pooling = false,
            DefaultTimeout = 30,
        }.ToString();
        Initialize();
    }

    private void Initialize()
    {
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode=WAL");
        CatalogSql.Migrate(connection, () => CreateOrUpgrade(connection));
    }

    private static void CreateOrUpgrade(SqliteConnection connection)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS schedules(
              name TEXT PRIMARY KEY, database TEXT NOT NULL, location TEXT NOT NULL, schedule TEXT, repeats INTEGER,
              due_time TEXT, ttl TEXT, keep_last INTEGER, max_age_seconds REAL, created_at TEXT NOT NULL, deleted_at TEXT);
            CREATE TABLE IF NOT EXISTS runs(
              id TEXT PRIMARY KEY, schedule TEXT NOT NULL, database TEXT NOT NULL, trigger TEXT NOT NULL,
              started_at TEXT NOT NULL, ended_at TEXT, bytes INTEGER, checksum TEXT, file TEXT,
              outcome TEXT NOT NULL, error TEXT, pruned_at TEXT);
            CREATE INDEX IF NOT EXISTS runs_by_schedule ON runs(schedule, started_at);
            """);
        // Catalogs written before schedule instances existed: each name's history counts as one instance.
        if (!HasColumn(connection, "schedules", "instance"))
        {
            Execute(connection, "ALTER TABLE schedules ADD COLUMN instance TEXT");
            Execute(connection, "UPDATE schedules SET instance = 'legacy:' || name WHERE instance IS NULL");
        }
        if (!HasColumn(connection, "schedules", "job_confirmed"))
        {
            // Rows written before this column were all created through a job the sidecar had accepted.
            Execute(connection, "ALTER TABLE schedules ADD COLUMN job_confirmed INTEGER NOT NULL DEFAULT 1");
            Execute(connection, "ALTER TABLE schedules ADD COLUMN ended_at TEXT");
            Execute(connection, "ALTER TABLE schedules ADD COLUMN ended_reason TEXT");
            Execute(connection, "ALTER TABLE schedules ADD COLUMN minimum_redundancy INTEGER NOT NULL DEFAULT 1");
        }
        if (!HasColumn(connection, "runs", "schedule_instance"))
        {
            Execute(connection, "ALTER TABLE runs ADD COLUMN schedule_instance TEXT");
            Execute(connection, "UPDATE runs SET schedule_instance = 'legacy:' || schedule WHERE schedule_instance IS NULL");
        }
        // Rows written before repositories existed back up to the local root only (NULL reads as that).
        if (!HasColumn(connection, "schedules", "repositories")) Execute(connection, "ALTER TABLE schedules ADD COLUMN repositories TEXT");
        RepositoryCopyCatalog.CreateOrUpgrade(connection);
    }

    /// <summary>Throws when the catalog file cannot be read (for the readiness check).</summary>
    public void Ping()
    {
        using var connection = Open();
        Execute(connection, "SELECT count(*) FROM runs WHERE 0");
    }

    /// <summary>
    /// Writes the schedule's row, replacing any earlier one of that name, ended or not: the record's own instance, or a
    /// new one when it has none. Nothing of an earlier instance carries over. Returns the row as stored.
    /// </summary>
    public ScheduleRecord UpsertSchedule(ScheduleRecord s)
    {
        var stored = s with { Instance = s.Instance ?? Guid.NewGuid().ToString("N"), EndedAt = null, EndedReason = null };
        using var connection = Open();
        Execute(connection, """
            INSERT INTO schedules(name, database, location, schedule, repeats, due_time, ttl, keep_last, max_age_seconds, minimum_redundancy,
              created_at, deleted_at, instance, job_confirmed, ended_at, ended_reason, repositories)
            VALUES($name, $database, $location, $schedule, $repeats, $due, $ttl, $keep, $age, $redundancy, $created, NULL, $instance, $confirmed, NULL, NULL, $repositories)
            ON CONFLICT(name) DO UPDATE SET database=excluded.database, location=excluded.location, schedule=excluded.schedule,
              repeats=excluded.repeats, due_time=excluded.due_time, ttl=excluded.ttl, keep_last=excluded.keep_last,
              max_age_seconds=excluded.max_age_seconds, minimum_redundancy=excluded.minimum_redundancy, created_at=excluded.created_at,
              deleted_at=NULL, instance=excluded.instance, job_confirmed=excluded.job_confirmed, ended_at=NULL, ended_reason=NULL,
              repositories=excluded.repositories
            """,
            ("$repositories", s.RepositoryNames),
            ("$instance", stored.Instance), ("$confirmed", stored.JobConfirmed ? 1 : 0),
            ("$name", s.Name), ("$database", s.Database), ("$location", s.Location), ("$schedule", s.Schedule), ("$repeats", s.Repeats),
            ("$due", s.DueTime), ("$ttl", s.Ttl), ("$keep", s.Retention.KeepLast), ("$age", s.Retention.MaxAge?.TotalSeconds),
            ("$redundancy", s.Retention.MinimumRedundancy), ("$created", Format(s.CreatedAt)));
        return stored;
    }

    /// <summary>The sidecar accepted this instance's job: from now on, a missing job means the schedule has ended.</summary>
    public void ConfirmJob(string name, string instance)
    {
        using var connection = Open();
        Execute(connection, "UPDATE schedules SET job_confirmed = 1 WHERE name = $name AND instance = $instance", ("$name", name), ("$instance", instance));
    }

    /// <summary>
    /// Records that this instance's job is gone (deleted outside this worker, repeats or TTL done): the schedule no longer
    /// governs triggers or retention, and nothing of it is inherited by a later schedule of the same name. Only a
    /// confirmed, live instance can end; false otherwise.
    /// </summary>
    public bool MarkScheduleEnded(string name, string instance, DateTimeOffset at, string reason)
    {
        using var connection = Open();
        return Execute(connection, """
            UPDATE schedules SET ended_at = $at, ended_reason = $reason
            WHERE name = $name AND instance = $instance AND job_confirmed = 1 AND deleted_at IS NULL AND ended_at IS NULL
            """, ("$name", name), ("$instance", instance), ("$at", Format(at)), ("$reason", reason)) > 0;
    }

    /// <summary>The live schedule of that name: the one whose rules apply to its triggers (not deleted, not ended).</summary>
    public ScheduleRecord? GetSchedule(string name) =>
        QuerySchedules("WHERE name = $name AND deleted_at IS NULL AND ended_at IS NULL", ("$name", name)).FirstOrDefault();

    /// <summary>Live schedules, by name.</summary>
    public IReadOnlyList<ScheduleRecord> ListSchedules() => QuerySchedules("WHERE deleted_at IS NULL AND ended_at IS NULL ORDER BY name");

    /// <summary>The schedule of that name not deleted by an operator, live or ended (an ended one is shown so).</summary>
    public ScheduleRecord? GetScheduleForView(string name) =>
        QuerySchedules("WHERE name = $name AND deleted_at IS NULL", ("$name", name)).FirstOrDefault();

    /// <summary>Schedules not deleted by an operator, live or ended, by name.</summary>
    public IReadOnlyList<ScheduleRecord> ListSchedulesForView() => QuerySchedules("WHERE deleted_at IS NULL ORDER BY name");

    /// <summary>Marks a schedule deleted; its runs stay in the catalog.</summary>
    public bool MarkScheduleDeleted(string name, DateTimeOffset at)
    {
        using var connection = Open();
        return Execute(connection, "UPDATE schedules SET deleted_at = $at WHERE name = $name AND deleted_at IS NULL", ("$name", name), ("$at", Format(at))) > 0;
    }

    public void InsertRun(BackupRun run)
    {
        using var connection = Open();
        Execute(connection, """
            INSERT INTO runs(id, schedule, database, trigger, started_at, ended_at, bytes, checksum, file, outcome, error, pruned_at, schedule_instance)
            VALUES($id, $schedule, $database, $trigger, $started, $ended, $bytes, $checksum, $file, $outcome, $error, NULL, $instance)
            """,
            ("$instance", run.ScheduleInstance),
            ("$id", run.Id), ("$schedule", run.Schedule), ("$database", run.Database), ("$trigger", run.Trigger),
            ("$started", Format(run.StartedAt)), ("$ended", run.EndedAt is { } e ? Format(e) : null), ("$bytes", run.Bytes),
            ("$checksum", run.Checksum), ("$file", run.File), ("$outcome", run.Outcome.ToString()), ("$error", run.Error));
    }

    public void CompleteRun(BackupRun run)
    {
        using var connection = Open();
        Execute(connection, """
            UPDATE runs SET ended_at=$ended, bytes=$bytes, checksum=$checksum, file=$file, outcome=$outcome, error=$error WHERE id=$id
            """,
            ("$id", run.Id), ("$ended", run.EndedAt is { } e ? Format(e) : null), ("$bytes", run.Bytes), ("$checksum", run.Checksum),
            ("$file", run.File), ("$outcome", run.Outcome.ToString()), ("$error", run.Error));
    }

    /// <summary>A run waiting for a slot (<see cref="RunOutcome.Queued"/>) or started after waiting (<see cref="RunOutcome.Running"/>).</summary>
    public void SetRunWaiting(string runId, bool waiting)
    {
        using var connection = Open();
        Execute(connection, "UPDATE runs SET outcome = $outcome WHERE id = $id AND outcome IN ('Running', 'Queued')",
            ("$id", runId), ("$outcome", (waiting ? RunOutcome.Queued : RunOutcome.Running).ToString()));
    }

    public void MarkPruned(string runId, DateTimeOffset at)
    {
        using var connection = Open();
        Execute(connection, "UPDATE runs SET pruned_at=$at WHERE id=$id", ("$id", runId), ("$at", Format(at)));
    }

    /// <summary>
    /// Removes finished runs whose backup is not on disk (failed, or pruned by retention) that started before
    /// <paramref name="olderThan"/> or are beyond the newest <paramref name="keepNewest"/> of them. Runs whose backup
    /// is still on disk or in an object repository (or still to be copied there) are never removed: they are the backups' record. Returns how many were removed.
    /// </summary>
    public int PruneHistory(DateTimeOffset olderThan, int keepNewest)
    {
        using var connection = Open();
        return Execute(connection, """
            DELETE FROM runs WHERE outcome NOT IN ('Running', 'Queued') AND (outcome <> 'Succeeded' OR pruned_at IS NOT NULL)
              AND NOT EXISTS (SELECT 1 FROM repository_copies c WHERE c.run_id = runs.id AND c.state IN ('Verified', 'Copied', 'Pending'))
              AND (started_at < $before OR id NOT IN (
                SELECT id FROM runs WHERE outcome NOT IN ('Running', 'Queued') AND (outcome <> 'Succeeded' OR pruned_at IS NOT NULL)
                ORDER BY started_at DESC, id LIMIT $keep))
            """, ("$before", Format(olderThan)), ("$keep", Math.Max(0, keepNewest)));
    }

    /// <summary>The newest succeeded run of one schedule instance (whether or not retention has removed its file since).</summary>
    public BackupRun? LastSucceededRun(string schedule, string instance) =>
        QueryRuns("WHERE schedule = $schedule AND schedule_instance = $instance AND outcome = 'Succeeded' ORDER BY started_at DESC, id LIMIT 1",
            ("$schedule", schedule), ("$instance", instance)).FirstOrDefault();

    public BackupRun? GetRun(string id) => QueryRuns("WHERE id = $id", ("$id", id)).FirstOrDefault();

    /// <summary>Runs, newest first, optionally of one schedule and/or database.</summary>
    public IReadOnlyList<BackupRun> ListRuns(string? schedule = null, string? database = null, int limit = 1000) =>
        QueryRuns("WHERE ($schedule IS NULL OR schedule = $schedule) AND ($database IS NULL OR database = $database) ORDER BY started_at DESC, id LIMIT $limit",
            ("$schedule", schedule), ("$database", database), ("$limit", limit));

    /// <summary>
    /// Backups still held somewhere (succeeded, and their local file not removed by retention or a copy of them verified
    /// in an object repository and not pruned there), newest first; optionally of one schedule instance.
    /// </summary>
    public IReadOnlyList<BackupRun> ListBackups(string? schedule = null, string? database = null, string? instance = null) =>
        QueryRuns("WHERE outcome = 'Succeeded' AND " + HeldSomewhere + " AND ($schedule IS NULL OR schedule = $schedule) AND ($database IS NULL OR database = $database) AND ($instance IS NULL OR schedule_instance = $instance) ORDER BY started_at DESC, id",
            ("$schedule", schedule), ("$database", database), ("$instance", instance));

    /// <summary>A succeeded run whose backup is still held: its local file, or a verified copy in an object repository.</summary>
    private const string HeldSomewhere =
        "(pruned_at IS NULL OR EXISTS (SELECT 1 FROM repository_copies c WHERE c.run_id = runs.id AND c.state = 'Verified'))";

    private List<ScheduleRecord> QuerySchedules(string where, params (string, object?)[] parameters)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT name, database, location, schedule, repeats, due_time, ttl, keep_last, max_age_seconds, created_at, instance, minimum_redundancy, job_confirmed, ended_at, ended_reason, repositories FROM schedules " + where, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<ScheduleRecord>();
        while (reader.Read())
        {
            list.Add(new ScheduleRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), NullableString(reader, 3),
                reader.IsDBNull(4) ? null : reader.GetInt32(4), NullableString(reader, 5), NullableString(reader, 6),
                new RetentionRule(reader.IsDBNull(7) ? null : reader.GetInt32(7), reader.IsDBNull(8) ? null : TimeSpan.FromSeconds(reader.GetDouble(8)), reader.GetInt32(11)),
                Parse(reader.GetString(9)), NullableString(reader, 10), reader.GetInt64(12) != 0,
                reader.IsDBNull(13) ? null : Parse(reader.GetString(13)), NullableString(reader, 14))
            {
                Repositories = NullableString(reader, 15) is { Length: > 0 } names ? names.Split(',') : RepositoryListRules.Default,
            });
        }
        return list;
    }

    private List<BackupRun> QueryRuns(string where, params (string, object?)[] parameters)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT id, schedule, database, trigger, started_at, ended_at, bytes, checksum, file, outcome, error, pruned_at, schedule_instance FROM runs " + where, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<BackupRun>();
        while (reader.Read())
        {
            list.Add(new BackupRun(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), Parse(reader.GetString(4)),
                reader.IsDBNull(5) ? null : Parse(reader.GetString(5)), reader.IsDBNull(6) ? null : reader.GetInt64(6),
                NullableString(reader, 7), NullableString(reader, 8), Enum.Parse<RunOutcome>(reader.GetString(9)), NullableString(reader, 10),
                reader.IsDBNull(11) ? null : Parse(reader.GetString(11)), NullableString(reader, 12)));
        }
        return list;
    }

    private SqliteConnection Open() => CatalogSql.Open(_connectionString);

    /// <summary>
    /// Records where a running run's backup will be once it is complete, so that a start after a crash can tell
    /// whether the run finished its file (see <see cref="CatalogReconciler"/>).
    /// </summary>
    public void RecordRunFile(string runId, string file)
    {
        using var connection = Open();
        Execute(connection, "UPDATE runs SET file=$file WHERE id=$id AND outcome='Running'", ("$id", runId), ("$file", file));
    }

    /// <summary>Runs recorded as running, oldest first.</summary>
    public IReadOnlyList<BackupRun> ListRunningRuns() => QueryRuns("WHERE outcome IN ('Running', 'Queued') ORDER BY started_at, id");

    /// <summary>Ends a run only if it is still recorded as running (false when something else ended it meanwhile).</summary>
    public bool CompleteRunningRun(BackupRun run)
    {
        using var connection = Open();
        return Execute(connection, """
            UPDATE runs SET ended_at=$ended, bytes=$bytes, checksum=$checksum, file=$file, outcome=$outcome, error=$error WHERE id=$id AND outcome IN ('Running', 'Queued')
            """,
            ("$id", run.Id), ("$ended", run.EndedAt is { } e ? Format(e) : null), ("$bytes", run.Bytes), ("$checksum", run.Checksum),
            ("$file", run.File), ("$outcome", run.Outcome.ToString()), ("$error", run.Error)) > 0;
    }
}
