using Microsoft.Data.Sqlite;
using Platform.Scheduler.Schedules;
using SQLitePCL;

namespace Platform.Scheduler.Storage;

/// <summary>
/// The writer's progress write, prepared once on its connection and run through SQLite's C API, so it takes part in
/// the batch's transaction like the writer's other statements. Every delivered tick ends here: at 500,000 ticks a second
/// the same update through <see cref="SqliteCommand"/> spent about as much again as SQLite's own statement execution
/// in its per-call bookkeeping (statement lookup, boxed parameters, SafeHandle reference counts).
/// </summary>
/// <remarks>
/// A job's progress row is made by its first tick (see <see cref="SqliteSchema"/>): every later tick is an update of a
/// row that is there. Both are fenced by the partition id, so the progress of a job deleted or replaced meanwhile is
/// dropped, not written under its successor.
/// </remarks>
internal sealed class SqliteProgressStatement : IDisposable
{
    private const string UpdateSql = "UPDATE progress SET count=?1, last_trigger=?2, attempts=?3, last_result=?4 WHERE id=?5 AND partition_id=?6";

    // Replaces a row of the same id only when the job under that id has this partition id, which makes any other row stale.
    private const string InsertSql = """
        INSERT OR REPLACE INTO progress(id, partition_id, count, last_trigger, attempts, last_result)
        SELECT ?5, ?6, ?1, ?2, ?3, ?4 WHERE EXISTS (SELECT 1 FROM jobs WHERE id = ?5 AND partition_id = ?6)
        """;

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _update, _insert;

    public SqliteProgressStatement(SqliteConnection connection)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The writer's connection is not open.");
        _update = SqliteNativeStatement.Prepare(_db, UpdateSql);
        try
        {
            _insert = SqliteNativeStatement.Prepare(_db, InsertSql);
        }
        catch
        {
            _update.Dispose();
            throw;
        }
    }

    public void Write(in ProgressUpdate update)
    {
        Run(_update, update);
        if (raw.sqlite3_changes(_db) == 0) Run(_insert, update);
    }

    private void Run(sqlite3_stmt statement, in ProgressUpdate update)
    {
        try
        {
            raw.sqlite3_bind_int64(statement, 1, update.Progress.Count);
            if (update.Progress.LastTrigger == TickCalculator.None) raw.sqlite3_bind_null(statement, 2);
            else raw.sqlite3_bind_int64(statement, 2, update.Progress.LastTrigger);
            raw.sqlite3_bind_int64(statement, 3, update.Progress.Attempts);
            raw.sqlite3_bind_int64(statement, 4, (long)update.Progress.LastResult);
            raw.sqlite3_bind_int64(statement, 5, update.RowId);
            raw.sqlite3_bind_int64(statement, 6, unchecked((long)update.PartitionId));
            var rc = raw.sqlite3_step(statement);
            if (rc != raw.SQLITE_DONE) throw SqliteNativeStatement.Error(_db, rc);
        }
        finally
        {
            raw.sqlite3_reset(statement);
        }
    }

    /// <summary>Finalizes the statements; before the connection closes, which would otherwise be left open behind them.</summary>
    public void Dispose()
    {
        _insert.Dispose();
        _update.Dispose();
    }
}
