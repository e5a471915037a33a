using Microsoft.Data.Sqlite;
using Platform.Scheduler.Schedules;
using SQLitePCL;

namespace Platform.Scheduler.Storage;

/// <summary>
/// The writer's progress update, prepared once on its connection and run through SQLite's C API, so it takes part in
/// the batch's transaction like the writer's other statements. Every delivered tick ends here: at 500,000 ticks a second
/// the same update through <see cref="SqliteCommand"/> spent about as much again as SQLite's own statement execution
/// in its per-call bookkeeping (statement lookup, boxed parameters, SafeHandle reference counts).
/// </summary>
internal sealed class SqliteProgressStatement : IDisposable
{
    private const string Sql = "UPDATE jobs SET count=?1, last_trigger=?2, attempts=?3, last_result=?4 WHERE id=?5 AND partition_id=?6";

    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;

    public SqliteProgressStatement(SqliteConnection connection)
    {
        _db = connection.Handle ?? throw new InvalidOperationException("The writer's connection is not open.");
        var rc = raw.sqlite3_prepare_v2(_db, Sql, out _statement);
        if (rc != raw.SQLITE_OK)
        {
            _statement?.Dispose();
            throw SqliteNativeStatement.Error(_db, rc);
        }
    }

    public void Write(in ProgressUpdate update)
    {
        try
        {
            raw.sqlite3_bind_int64(_statement, 1, update.Progress.Count);
            if (update.Progress.LastTrigger == TickCalculator.None) raw.sqlite3_bind_null(_statement, 2);
            else raw.sqlite3_bind_int64(_statement, 2, update.Progress.LastTrigger);
            raw.sqlite3_bind_int64(_statement, 3, update.Progress.Attempts);
            raw.sqlite3_bind_int64(_statement, 4, (long)update.Progress.LastResult);
            raw.sqlite3_bind_int64(_statement, 5, update.RowId);
            raw.sqlite3_bind_int64(_statement, 6, unchecked((long)update.PartitionId));
            var rc = raw.sqlite3_step(_statement);
            if (rc != raw.SQLITE_DONE) throw SqliteNativeStatement.Error(_db, rc);
        }
        finally
        {
            raw.sqlite3_reset(_statement);
        }
    }

    /// <summary>Finalizes the statement; before the connection closes, which would otherwise be left open behind it.</summary>
    public void Dispose() => _statement.Dispose();
}
