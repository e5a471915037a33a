using BackupWorker.Demo;
using Microsoft.Data.Sqlite;

namespace BackupWorker.Tests;

public class DemoDatabaseTests
{
    [Fact]
    public async Task Replicas_seeding_one_data_directory_at_once_leave_one_complete_database()
    {
        var dir = Directory.CreateTempSubdirectory("demo-seed-");
        try
        {
            var file = Path.Combine(dir.FullName, "my-prod-db.db");
            using var start = new ManualResetEventSlim();
            var seeds = Enumerable.Range(0, 4).Select(_ => Task.Run(() => { start.Wait(); return DemoDatabase.Seed(file); })).ToArray();
            start.Set();
            var rows = await Task.WhenAll(seeds).WaitAsync(TimeSpan.FromSeconds(30));

            Assert.All(rows, r => Assert.Equal(250, r));
            Assert.Equal([Path.GetFileName(file)], Directory.GetFiles(dir.FullName).Select(Path.GetFileName));
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
            connection.Open();
            using var count = connection.CreateCommand();
            count.CommandText = "SELECT (SELECT count(*) FROM customers) + (SELECT count(*) FROM orders)";
            Assert.Equal(250L, (long)count.ExecuteScalar()!);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }
}
