using System.Globalization;
using Microsoft.Data.Sqlite;

namespace BackupWorker.Backups;

/// <summary>The few SQL helpers the catalog's tables share (backups and runs, restores and drills).</summary>
internal static class CatalogSql
{
    public static SqliteConnection Open(string connectionString)
    {
        var connection = new SqliteConnection(connectionString);
        connection.Open();
        return connection;
    }

    public static SqliteCommand Command(SqliteConnection connection, string sql, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        return command;
    }

    public static int Execute(SqliteConnection connection, string sql, params (string, object?)[] parameters)
    {
        using var command = Command(connection, sql, parameters);
        return command.ExecuteNonQuery();
    }

    /// <summary>
    /// Runs a schema change under SQLite's write lock (<c>BEGIN IMMEDIATE</c>, waiting out the busy timeout): worker
    /// replicas share one catalog and start together, and a check-then-ALTER by two at once fails the second.
    /// </summary>
    public static void Migrate(SqliteConnection connection, Action migrate)
    {
        Execute(connection, "BEGIN IMMEDIATE");
        try
        {
            migrate();
            Execute(connection, "COMMIT");
        }
        catch
        {
            Execute(connection, "ROLLBACK");
            throw;
        }
    }

    public static bool HasColumn(SqliteConnection connection, string table, string column)
    {
        using var command = Command(connection, $"SELECT count(*) FROM pragma_table_info('{table}') WHERE name = $column", [("$column", column)]);
        return Convert.ToInt64(command.ExecuteScalar(), CultureInfo.InvariantCulture) > 0;
    }

    public static string? NullableString(SqliteDataReader reader, int i) => reader.IsDBNull(i) ? null : reader.GetString(i);

    // Fixed-width UTC round-trip text sorts in time order, which ORDER BY relies on.
    public static string Format(DateTimeOffset value) => value.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    public static DateTimeOffset Parse(string text) => DateTimeOffset.Parse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal);
}
