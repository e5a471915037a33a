using Microsoft.Data.Sqlite;

namespace Platform.Scheduler.Storage;

/// <summary>
/// The tables of <c>scheduler.db</c>, numbered in SQLite's <c>user_version</c>, and the steps that bring an older file up
/// to them. Version 1 keeps each job's progress in a narrow table of its own: every delivered tick rewrites its job's
/// progress, and in the jobs table that rewrote the whole row (key, schedule, data, failure policy) into the pages and
/// the log, about 180 bytes a job in the restart benchmark's file against 28 in the progress table.
/// </summary>
internal static class SqliteSchema
{
    public const int Version = 1;

    /// <summary>Every column of a job with its progress, in the order the store's readers read them, from <see cref="JobsWithProgress"/>.</summary>
    public const string JobColumns =
        "j.id, j.namespace, j.app_id, j.name, j.partition_id, j.schedule, j.repeats, j.due_time, j.ttl, j.data, j.failure_policy, j.created, j.due, j.expiration, j.trace_parent, j.trace_state, p.count, p.last_trigger, p.attempts, p.last_result";

    /// <summary>The jobs joined with their progress: none (NULLs) for a job that has not fired yet.</summary>
    public const string JobsWithProgress = "jobs j LEFT JOIN progress p ON p.id = j.id AND p.partition_id = j.partition_id";

    private const string Jobs = """
        CREATE TABLE jobs(
          id INTEGER PRIMARY KEY,
          namespace TEXT NOT NULL, app_id TEXT NOT NULL, name TEXT NOT NULL,
          partition_id INTEGER NOT NULL,
          schedule TEXT, repeats INTEGER, due_time TEXT, ttl TEXT,
          data BLOB, failure_policy BLOB NOT NULL,
          created INTEGER NOT NULL, due INTEGER, expiration INTEGER,
          trace_parent TEXT, trace_state TEXT);
        CREATE UNIQUE INDEX jobs_key ON jobs(namespace, app_id, name);
        """;

    // A job's progress row is made by its first tick (SqliteProgressStatement), so a job that never fired, of which a
    // store may hold a million, costs no row, and a new job no second insert. SQLite deletes the row with its job, and
    // when the job is replaced (a new partition id), whatever writes the jobs table.
    private const string Progress = """
        CREATE TABLE progress(
          id INTEGER PRIMARY KEY,
          partition_id INTEGER NOT NULL,
          count INTEGER NOT NULL, last_trigger INTEGER, attempts INTEGER NOT NULL, last_result INTEGER NOT NULL);
        CREATE TRIGGER jobs_deleted AFTER DELETE ON jobs BEGIN DELETE FROM progress WHERE id = old.id; END;
        CREATE TRIGGER jobs_replaced AFTER UPDATE OF partition_id ON jobs BEGIN DELETE FROM progress WHERE id = old.id; END;
        """;

    /// <summary>
    /// Creates the tables in a new file, or brings an older file's up to <see cref="Version"/> in one transaction (a
    /// failed step leaves the file as it was). Returns the number of jobs whose progress moved, or -1 when nothing
    /// needed to move.
    /// </summary>
    public static int Prepare(SqliteConnection connection)
    {
        using var tx = connection.BeginTransaction(deferred: false);
        var version = Scalar(connection, tx, "PRAGMA user_version");
        if (version > Version)
            throw new InvalidOperationException(
                $"{connection.DataSource} has schema version {version}, written by a newer scheduler; this one reads up to version {Version}.");
        if (version == Version) return -1;
        var moved = -1;
        if (Scalar(connection, tx, "SELECT count(*) FROM sqlite_schema WHERE type = 'table' AND name = 'jobs'") == 0)
        {
            Execute(connection, tx, Jobs + Progress);
        }
        else
        {
            // Version 0: the progress in four columns of the jobs table. Only jobs that fired have any to move.
            Execute(connection, tx, Progress);
            moved = Execute(connection, tx, """
                INSERT INTO progress(id, partition_id, count, last_trigger, attempts, last_result)
                SELECT id, partition_id, count, last_trigger, attempts, last_result FROM jobs
                WHERE count <> 0 OR last_trigger IS NOT NULL OR attempts <> 0 OR last_result <> 0
                """);
            Execute(connection, tx, """
                ALTER TABLE jobs DROP COLUMN count;
                ALTER TABLE jobs DROP COLUMN last_trigger;
                ALTER TABLE jobs DROP COLUMN attempts;
                ALTER TABLE jobs DROP COLUMN last_result;
                """);
        }
        Execute(connection, tx, $"PRAGMA user_version = {Version}");
        tx.Commit();
        return moved;
    }

    private static long Scalar(SqliteConnection connection, SqliteTransaction tx, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        return (long)command.ExecuteScalar()!;
    }

    private static int Execute(SqliteConnection connection, SqliteTransaction tx, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        return command.ExecuteNonQuery();
    }
}
