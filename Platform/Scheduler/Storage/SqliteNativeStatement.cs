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
            var error = db is null ? Error(rc, raw.sqlite3_errstr(rc).utf8_to_string()) : Error(db, rc);
            db?.Dispose();
            throw error;
        }
        raw.sqlite3_busy_timeout(db, busyTimeoutMilliseconds);
        try
        {
            return (db, Prepare(db, sql));
        }
        catch
        {
            db.Dispose();
            throw;
        }
    }

    /// <summary>Prepares <paramref name="sql"/> on <paramref name="db"/>; on failure nothing stays prepared.</summary>
    public static sqlite3_stmt Prepare(sqlite3 db, string sql)
    {
        var rc = raw.sqlite3_prepare_v2(db, sql, out var statement);
        if (rc == raw.SQLITE_OK) return statement;
        var error = Error(db, rc);
        statement?.Dispose();
        throw error;
    }

    /// <summary>SQLite's error as <see cref="SqliteCommand"/> words it, with the connection's message (read it before the
    /// connection closes).</summary>
    public static SqliteException Error(sqlite3 db, int rc) => Error(rc, raw.sqlite3_errmsg(db).utf8_to_string());

    private static SqliteException Error(int rc, string message) => new($"SQLite Error {rc}: '{message}'.", rc);
}
