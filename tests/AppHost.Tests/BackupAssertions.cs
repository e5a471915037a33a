using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace AppHost.Tests;

internal static class BackupAssertions
{
    /// <summary>The backup file exists under the data directory, matches its recorded SHA-256 (and its .sha256 file), and is a sound copy of the demo database.</summary>
    public static void AssertVerifiedSqliteBackup(JsonElement backup, string dataDirectory)
    {
        Assert.Equal("Succeeded", backup.GetProperty("outcome").GetString());
        var file = backup.GetProperty("file").GetString()!;
        Assert.StartsWith(dataDirectory, file, StringComparison.Ordinal);
        Assert.True(File.Exists(file), file);
        var checksum = backup.GetProperty("checksum").GetString()!;
        using (var stream = File.OpenRead(file))
            Assert.Equal(checksum, Convert.ToHexStringLower(SHA256.HashData(stream)));
        Assert.StartsWith(checksum, File.ReadAllText(file + ".sha256"), StringComparison.Ordinal);

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", check.ExecuteScalar());
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM customers";
        Assert.Equal(50L, count.ExecuteScalar());
    }
}
