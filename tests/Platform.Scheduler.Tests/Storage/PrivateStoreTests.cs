using Microsoft.Data.Sqlite;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>The scheduler's SQLite store holds every job's payload: 0600 in a 0700 directory, whatever the umask left.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes
public class PrivateStoreTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;

    [Fact]
    public async Task A_new_store_is_created_0600_in_a_0700_directory_and_its_wal_follows()
    {
        var parent = Directory.CreateTempSubdirectory("store-private-").FullName;
        var dir = Path.Combine(parent, "data", "scheduler");
        try
        {
            await using (var store = new SqliteJobStore(dir))
            {
                await store.OpenAsync();
                // A connection kept open keeps the -wal and -shm files in place to look at.
                using var connection = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=false");
                connection.Open();
                using (var write = connection.CreateCommand())
                {
                    write.CommandText = "CREATE TABLE IF NOT EXISTS probe(x); INSERT INTO probe VALUES(1)";
                    write.ExecuteNonQuery();
                }
                Assert.Equal(PrivateDirectory, File.GetUnixFileMode(dir));
                Assert.Equal(Private, File.GetUnixFileMode(store.DatabasePath));
                Assert.Equal(Private, File.GetUnixFileMode(store.DatabasePath + "-wal"));
                Assert.Equal(Private, File.GetUnixFileMode(store.DatabasePath + "-shm"));
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(parent, true);
        }
    }

    [Fact]
    public async Task An_existing_world_readable_store_and_directory_are_narrowed()
    {
        var dir = Directory.CreateTempSubdirectory("store-private-").FullName;
        try
        {
            await using (var first = new SqliteJobStore(dir)) await first.OpenAsync();
            var file = Path.Combine(dir, "scheduler.db");
            File.SetUnixFileMode(file, Private | UnixFileMode.GroupRead | UnixFileMode.OtherRead);
            File.SetUnixFileMode(dir, PrivateDirectory | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);

            await using (var second = new SqliteJobStore(dir)) await second.OpenAsync();

            Assert.Equal(Private, File.GetUnixFileMode(file));
            Assert.Equal(PrivateDirectory, File.GetUnixFileMode(dir));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }
}
