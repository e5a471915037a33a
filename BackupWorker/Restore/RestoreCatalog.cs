using Shared;
using System.Globalization;
using System.Text.Json;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;
using static BackupWorker.Backups.CatalogSql;

namespace BackupWorker.Restore;

/// <summary>
/// The restore side of the catalog, in the same SQLite file as <see cref="BackupCatalog"/> (its own tables): what
/// each backup recorded (its manifest), every restore and drill, and each schedule's drill policy.
/// </summary>
public sealed class RestoreCatalog : IRestoreRecords
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly string _connectionString;

    public RestoreCatalog(BackupPaths paths)
    {
        Directory.CreateDirectory(paths.DataDirectory);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = paths.CatalogFile, Pooling = false, DefaultTimeout = 30 }.ToString();
        using var connection = Open();
        Execute(connection, "PRAGMA journal_mode=WAL");
        CatalogSql.Migrate(connection, () => CreateOrUpgrade(connection));
    }

    private static void CreateOrUpgrade(SqliteConnection connection)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS backup_manifests(run_id TEXT PRIMARY KEY, manifest TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS restores(
              id TEXT PRIMARY KEY, backup_id TEXT NOT NULL, schedule TEXT NOT NULL, database TEXT NOT NULL, provider TEXT NOT NULL,
              target TEXT NOT NULL, replace INTEGER NOT NULL, safety_copy TEXT, requested_by TEXT NOT NULL,
              started_at TEXT NOT NULL, ended_at TEXT, outcome TEXT NOT NULL, error TEXT);
            CREATE INDEX IF NOT EXISTS restores_by_time ON restores(started_at);
            CREATE TABLE IF NOT EXISTS drills(
              id TEXT PRIMARY KEY, backup_id TEXT NOT NULL, schedule TEXT NOT NULL, database TEXT NOT NULL, trigger TEXT NOT NULL,
              started_at TEXT NOT NULL, ended_at TEXT, outcome TEXT NOT NULL, error TEXT, expected TEXT, actual TEXT);
            CREATE INDEX IF NOT EXISTS drills_by_backup ON drills(backup_id, started_at);
            CREATE TABLE IF NOT EXISTS drill_policies(schedule TEXT PRIMARY KEY, schedule_instance TEXT, every INTEGER NOT NULL);
            """);
        // Which repository a restore or drill read the backup from; NULL is the local copy (all rows written before).
        foreach (var table in (string[])["restores", "drills"])
            if (!HasColumn(connection, table, "repository")) Execute(connection, $"ALTER TABLE {table} ADD COLUMN repository TEXT");
    }

    public void SaveManifest(string runId, DatabaseManifest manifest)
    {
        using var connection = Open();
        Execute(connection, "INSERT OR REPLACE INTO backup_manifests(run_id, manifest) VALUES($id, $m)", ("$id", runId), ("$m", JsonSerializer.Serialize(manifest, Json)));
    }

    public DatabaseManifest? GetManifest(string runId)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT manifest FROM backup_manifests WHERE run_id = $id", [("$id", runId)]);
        return command.ExecuteScalar() is string text ? JsonSerializer.Deserialize<DatabaseManifest>(text, Json) : null;
    }

    public void UpsertRestore(RestoreRecord r)
    {
        using var connection = Open();
        Execute(connection, """
            INSERT OR REPLACE INTO restores(id, backup_id, schedule, database, provider, target, replace, safety_copy, requested_by, started_at, ended_at, outcome, error, repository)
            VALUES($id, $backup, $schedule, $database, $provider, $target, $replace, $safety, $by, $started, $ended, $outcome, $error, $repository)
            """,
            ("$repository", StoredRepository(r.Repository)),
            ("$id", r.Id), ("$backup", r.BackupId), ("$schedule", r.Schedule), ("$database", r.Database), ("$provider", r.Provider),
            ("$target", r.Target), ("$replace", r.Replace ? 1 : 0), ("$safety", r.SafetyCopy), ("$by", r.RequestedBy),
            ("$started", Format(r.StartedAt)), ("$ended", r.EndedAt is { } e ? Format(e) : null), ("$outcome", r.Outcome.ToString()), ("$error", r.Error));
    }

    public RestoreRecord? GetRestore(string id) => QueryRestores("WHERE id = $id", ("$id", id)).FirstOrDefault();

    /// <summary>Restores, newest first.</summary>
    public IReadOnlyList<RestoreRecord> ListRestores(int limit) => QueryRestores("ORDER BY started_at DESC, id LIMIT $limit", ("$limit", limit));

    public void UpsertDrill(DrillRecord d)
    {
        using var connection = Open();
        Execute(connection, """
            INSERT OR REPLACE INTO drills(id, backup_id, schedule, database, trigger, started_at, ended_at, outcome, error, expected, actual, repository)
            VALUES($id, $backup, $schedule, $database, $trigger, $started, $ended, $outcome, $error, $expected, $actual, $repository)
            """,
            ("$repository", StoredRepository(d.Repository)),
            ("$id", d.Id), ("$backup", d.BackupId), ("$schedule", d.Schedule), ("$database", d.Database), ("$trigger", d.Trigger),
            ("$started", Format(d.StartedAt)), ("$ended", d.EndedAt is { } e ? Format(e) : null), ("$outcome", d.Outcome.ToString()), ("$error", d.Error),
            ("$expected", d.Expected is null ? null : JsonSerializer.Serialize(d.Expected, Json)), ("$actual", d.Actual is null ? null : JsonSerializer.Serialize(d.Actual, Json)));
    }

    public DrillRecord? GetDrill(string id) => QueryDrills("WHERE id = $id", ("$id", id)).FirstOrDefault();

    /// <summary>Drills, newest first, optionally of one schedule or one backup.</summary>
    public IReadOnlyList<DrillRecord> ListDrills(string? schedule = null, string? backupId = null, int limit = 200) =>
        QueryDrills("WHERE ($schedule IS NULL OR schedule = $schedule) AND ($backup IS NULL OR backup_id = $backup) ORDER BY started_at DESC, id LIMIT $limit",
            ("$schedule", schedule), ("$backup", backupId), ("$limit", limit));

    /// <summary>
    /// A backup whose latest conclusive drill (succeeded or failed) found its content bad is not restorable: no restore
    /// picks it, an explicit one is refused, and retention does not count it. A later successful drill clears that;
    /// an inconclusive drill changes nothing.
    /// </summary>
    public bool IsRestorable(string backupId) => IsRestorable(backupId, RepositoryListRules.Local);

    /// <summary>As <see cref="IsRestorable(string)"/>, for the backup's copy in <paramref name="repository"/>: each copy has its own verdict.</summary>
    public bool IsRestorable(string backupId, string repository)
    {
        using var connection = Open();
        using var command = Command(connection, """
            SELECT outcome FROM drills WHERE backup_id = $id AND repository IS $repository AND outcome IN ('Succeeded', 'Failed')
            ORDER BY started_at DESC, ended_at DESC LIMIT 1
            """, [("$id", backupId), ("$repository", StoredRepository(repository))]);
        return command.ExecuteScalar() as string != nameof(DrillOutcome.Failed);
    }

    /// <summary>
    /// Backups still on disk whose latest drill was inconclusive, with how many inconclusive drills they have had in a
    /// row, when the last one ended and its id: the drills to retry with back-off.
    /// </summary>
    public IReadOnlyList<(string BackupId, int Attempts, DateTimeOffset LastEnded, string LatestId)> ListInconclusiveDrills()
    {
        using var connection = Open();
        using var command = Command(connection, """
            WITH latest AS (
              SELECT backup_id, max(started_at) AS started FROM drills WHERE repository IS NULL GROUP BY backup_id)
            SELECT d.backup_id,
              (SELECT count(*) FROM drills i WHERE i.backup_id = d.backup_id AND i.repository IS NULL AND i.outcome = 'Inconclusive'
                 AND i.started_at > COALESCE((SELECT max(c.started_at) FROM drills c WHERE c.backup_id = d.backup_id AND c.repository IS NULL AND c.outcome IN ('Succeeded', 'Failed')), '')),
              COALESCE(d.ended_at, d.started_at), d.id
            FROM drills d JOIN latest l ON l.backup_id = d.backup_id AND l.started = d.started_at AND d.repository IS NULL
            JOIN runs r ON r.id = d.backup_id AND r.outcome = 'Succeeded' AND r.pruned_at IS NULL
            WHERE d.outcome = 'Inconclusive'
            """, []);
        using var reader = command.ExecuteReader();
        var list = new List<(string, int, DateTimeOffset, string)>();
        while (reader.Read()) list.Add((reader.GetString(0), reader.GetInt32(1), Parse(reader.GetString(2)), reader.GetString(3)));
        return list;
    }

    /// <summary>
    /// Records <paramref name="drill"/> (of a local copy) as running, unless another drill of its backup began since
    /// <paramref name="latestId"/>, the inconclusive drill it retries: worker replicas share the catalog, and of their
    /// overlapping retry passes only the first to write takes the retry. One statement, so SQLite's write lock decides.
    /// </summary>
    public bool TryBeginRetryDrill(DrillRecord drill, string latestId)
    {
        using var connection = Open();
        return Execute(connection, """
            INSERT INTO drills(id, backup_id, schedule, database, trigger, started_at, outcome, repository)
            SELECT $id, $backup, $schedule, $database, $trigger, $started, 'Running', NULL
            WHERE NOT EXISTS (SELECT 1 FROM drills d WHERE d.backup_id = $backup AND d.repository IS NULL AND d.id <> $latest
              AND d.started_at >= (SELECT started_at FROM drills WHERE id = $latest))
            """, ("$id", drill.Id), ("$backup", drill.BackupId), ("$schedule", drill.Schedule), ("$database", drill.Database),
            ("$trigger", drill.Trigger), ("$started", Format(drill.StartedAt)), ("$latest", latestId)) == 1;
    }

    public void SetDrillPolicy(string schedule, string? instance, int? every)
    {
        using var connection = Open();
        if (every is null) Execute(connection, "DELETE FROM drill_policies WHERE schedule = $s", ("$s", schedule));
        else Execute(connection, "INSERT OR REPLACE INTO drill_policies(schedule, schedule_instance, every) VALUES($s, $i, $e)", ("$s", schedule), ("$i", instance), ("$e", every));
    }

    /// <summary>The schedule's drill interval, if it set one for this instance of the schedule (a re-created schedule starts without).</summary>
    public int? GetDrillEvery(string schedule, string? instance)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT every FROM drill_policies WHERE schedule = $s AND schedule_instance IS $i", [("$s", schedule), ("$i", instance)]);
        return command.ExecuteScalar() is long every ? (int)every : null;
    }

    /// <summary>Successful backups of one schedule instance so far.</summary>
    public long CountSucceeded(string schedule, string? instance)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT count(*) FROM runs WHERE schedule = $s AND schedule_instance IS $i AND outcome = 'Succeeded'", [("$s", schedule), ("$i", instance)]);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    private List<RestoreRecord> QueryRestores(string where, params (string, object?)[] parameters)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT id, backup_id, schedule, database, provider, target, replace, safety_copy, requested_by, started_at, ended_at, outcome, error, repository FROM restores " + where, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<RestoreRecord>();
        while (reader.Read())
            list.Add(new RestoreRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetString(5),
                reader.GetInt64(6) != 0, NullableString(reader, 7), reader.GetString(8), Parse(reader.GetString(9)),
                reader.IsDBNull(10) ? null : Parse(reader.GetString(10)), Enum.Parse<RunOutcome>(reader.GetString(11)), NullableString(reader, 12))
            { Repository = NullableString(reader, 13) ?? RepositoryListRules.Local });
        return list;
    }

    private List<DrillRecord> QueryDrills(string where, params (string, object?)[] parameters)
    {
        using var connection = Open();
        using var command = Command(connection, "SELECT id, backup_id, schedule, database, trigger, started_at, ended_at, outcome, error, expected, actual, repository FROM drills " + where, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<DrillRecord>();
        while (reader.Read())
            list.Add(new DrillRecord(reader.GetString(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), Parse(reader.GetString(5)),
                reader.IsDBNull(6) ? null : Parse(reader.GetString(6)), ParseDrillOutcome(reader.GetString(7)), NullableString(reader, 8),
                NullableString(reader, 9) is { } e ? JsonSerializer.Deserialize<DatabaseManifest>(e, Json) : null,
                NullableString(reader, 10) is { } a ? JsonSerializer.Deserialize<DatabaseManifest>(a, Json) : null)
            { Repository = NullableString(reader, 11) ?? RepositoryListRules.Local });
        return list;
    }

    // Catalogs written before drills told content from infrastructure recorded "Cancelled" for what is now inconclusive.
    private static DrillOutcome ParseDrillOutcome(string text) => text == "Cancelled" ? DrillOutcome.Inconclusive : Enum.Parse<DrillOutcome>(text);

    private SqliteConnection Open() => CatalogSql.Open(_connectionString);

    private static string? StoredRepository(string repository) =>
        string.Equals(repository, RepositoryListRules.Local, StringComparison.OrdinalIgnoreCase) ? null : repository;

    /// <summary>
    /// Ends restores and drills still running (started before <paramref name="startedBefore"/>, or all when null) with
    /// <paramref name="reason"/>: a worker that stopped left them. A restore becomes failed; a drill cancelled, since a
    /// drill that could not finish proves nothing about its backup (a failed one would mark it not restorable).
    /// Returns (restores, drills) changed.
    /// </summary>
    public (int Restores, int Drills) FailRunning(DateTimeOffset endedAt, DateTimeOffset? startedBefore, string reason)
    {
        using var connection = Open();
        (string, object?)[] parameters = [("$ended", Format(endedAt)), ("$before", startedBefore is { } b ? Format(b) : null), ("$reason", reason)];
        // A replace stopped midway may have replaced its target (a PostgreSQL swap's psql can commit after the worker
        // died): its error says so, and where what the target held is kept.
        var restores = Execute(connection, """
            UPDATE restores SET outcome='Failed', ended_at=$ended, error=$reason || CASE WHEN safety_copy IS NULL THEN '' ELSE
              ' (a replace: the target may hold the backup or what it held before; what it held before is kept as ''' || safety_copy || ''' if that exists)' END
            WHERE outcome='Running' AND ($before IS NULL OR started_at < $before)
            """, parameters);
        var drills = Execute(connection, "UPDATE drills SET outcome='Inconclusive', ended_at=$ended, error=$reason WHERE outcome='Running' AND ($before IS NULL OR started_at < $before)", parameters);
        return (restores, drills);
    }
}
