using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;

namespace BackupWorker.Tests;

/// <summary>The catalog (every backup, restore and where they are) is 0600 in a 0700 data directory, whatever the umask left.</summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")] // file modes
public class PrivateFilesTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;
    private const UnixFileMode Readable = UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    [Fact]
    public void A_new_catalog_is_0600_in_a_0700_data_directory_and_its_wal_follows()
    {
        var parent = Directory.CreateTempSubdirectory("backupworker-private-").FullName;
        var data = Path.Combine(parent, "data");
        try
        {
            var paths = new BackupPaths(data, data);
            _ = new BackupCatalog(paths);
            // A connection that wrote and stays open keeps the -wal and -shm files in place to look at.
            using var connection = new SqliteConnection($"Data Source={paths.CatalogFile};Pooling=false");
            connection.Open();
            using (var write = connection.CreateCommand())
            {
                write.CommandText = "CREATE TABLE probe(x); INSERT INTO probe VALUES(1)";
                write.ExecuteNonQuery();
            }

            Assert.Equal(PrivateDirectory, File.GetUnixFileMode(data));
            Assert.Equal(Private, File.GetUnixFileMode(paths.CatalogFile));
            Assert.Equal(Private, File.GetUnixFileMode(paths.CatalogFile + "-wal"));
            Assert.Equal(Private, File.GetUnixFileMode(paths.CatalogFile + "-shm"));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(parent, recursive: true);
        }
    }

    [Fact]
    public async Task A_world_readable_catalog_and_data_directory_are_narrowed_at_start_and_logged()
    {
        string catalog = "", wal = "";
        await using var worker = await StartedWorker.StartAsync(data =>
        {
            catalog = new BackupPaths(data, data).CatalogFile;
            File.WriteAllBytes(catalog, []); // an empty file is an empty SQLite database
            File.WriteAllBytes(wal = catalog + "-wal", []);
            File.SetUnixFileMode(catalog, Private | Readable);
            File.SetUnixFileMode(wal, Private | Readable);
            File.SetUnixFileMode(data, PrivateDirectory | Readable | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute);
        });

        Assert.Equal(Private, File.GetUnixFileMode(catalog));
        Assert.Equal(PrivateDirectory, File.GetUnixFileMode(worker.DataDirectory));
        if (File.Exists(wal)) Assert.Equal(Private, File.GetUnixFileMode(wal));
        await worker.Process.WaitForOutputAsync(l => l.Contains($"Narrowed the permissions of {catalog} ", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        await worker.Process.WaitForOutputAsync(l => l.Contains($"Narrowed the permissions of {worker.DataDirectory} ", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
    }
}
