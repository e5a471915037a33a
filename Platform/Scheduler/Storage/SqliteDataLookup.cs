using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Platform.Scheduler.Storage;

/// <summary>
/// Reads one job's data by row id and partition id through SQLite's C API, on a connection of its own: the dispatch
/// path asks for it per trigger of a job whose data was left in the store at load. Each read is its own short read
/// transaction (the statement is reset at once), so it never holds a snapshot that would keep the WAL from being
/// checkpointed or hide a later commit.
/// </summary>
internal sealed class SqliteDataLookup : IDisposable
{
    private const string Sql = "SELECT data FROM jobs WHERE id = ?1 AND partition_id = ?2";

    private readonly object _gate = new();
    private readonly sqlite3 _db;
    private readonly sqlite3_stmt _statement;
    private bool _disposed;

    public SqliteDataLookup(string databasePath, int busyTimeoutMilliseconds = 10_000)
    {
        (_db, _statement) = SqliteNativeStatement.Open(databasePath, raw.SQLITE_OPEN_READONLY | raw.SQLITE_OPEN_NOMUTEX, Sql, busyTimeoutMilliseconds);
    }

    /// <summary>See <see cref="IDeferredJobData.TryReadData"/>.</summary>
    public bool TryRead(long rowId, ulong partitionId, out byte[]? data)
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            try
            {
                raw.sqlite3_bind_int64(_statement, 1, rowId);
                raw.sqlite3_bind_int64(_statement, 2, unchecked((long)partitionId));
                var rc = raw.sqlite3_step(_statement);
                if (rc == raw.SQLITE_DONE)
                {
                    data = null;
                    return false;
                }
                if (rc != raw.SQLITE_ROW) throw SqliteNativeStatement.Error(_db, rc);
                // Read as the load reads the column: NULL is no data, anything but a blob makes the row unreadable.
                data = raw.sqlite3_column_type(_statement, 0) switch
                {
                    raw.SQLITE_NULL => null,
                    raw.SQLITE_BLOB => raw.sqlite3_column_blob(_statement, 0).ToArray(),
                    var type => throw new InvalidDataException($"column 9 holds {SqliteRowReader.TypeName(type)}, not a blob"),
                };
                return true;
            }
            finally
            {
                raw.sqlite3_reset(_statement);
            }
        }
    }

    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed) return;
            _disposed = true;
            _statement.Dispose();
            _db.Dispose();
        }
    }
}
