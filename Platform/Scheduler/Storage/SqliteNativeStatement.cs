using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace Platform.Scheduler.Storage;

/// <summary>A connection of its own through SQLite's C API with one prepared statement, for the store's hot reads.</summary>
internal static class SqliteNativeStatement
{
    /// <summary>Opens <paramref name="databasePath"/> with <paramref name="flags"/> and prepares <paramref name="sql"/>; on failure nothing stays open.</summary>
    public static (sqlite3 Db, sqlite3_stmt Statement) Open(string databasePath, int flags, string sql, int busyTimeoutMilliseconds)
    {
        Batteries_V2.Init();
        var rc = raw.sqlite3_open_v2(databasePath, out var db, flags, null);
        if (rc != raw.SQLITE_OK)
        {
            var message = db is null ? raw.sqlite3_errstr(rc).utf8_to_string() : raw.sqlite3_errmsg(db).utf8_to_string();
            db?.Dispose();
            throw new SqliteException($"SQLite Error {rc}: '{message}'.", rc);
        }
        raw.sqlite3_busy_timeout(db, busyTimeoutMilliseconds);
        rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        if (rc != raw.SQLITE_OK)
        {
            var message = raw.sqlite3_errmsg(db).utf8_to_string();
            statement?.Dispose();
            db.Dispose();
            throw new SqliteException($"SQLite Error {rc}: '{message}'.", rc);
        }
        return (db, statement);
    }
}
