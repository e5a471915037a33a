using Microsoft.Data.Sqlite;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>What a SQLite store's file holds, read past the store: the reference its usage count is checked against.</summary>
internal static class SqliteTruth
{
    /// <summary>Jobs and bytes of data in the store of <paramref name="directory"/>.</summary>
    public static (int Jobs, long Bytes) Of(string directory)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(directory, "scheduler.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*), CAST(total(length(data)) AS INTEGER) FROM jobs";
        using var row = command.ExecuteReader();
        Assert.True(row.Read());
        return ((int)row.GetInt64(0), row.GetInt64(1));
    }
}
