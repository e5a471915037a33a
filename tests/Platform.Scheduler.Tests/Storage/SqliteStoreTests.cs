using Microsoft.Data.Sqlite;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>What only the SQLite store does; what every store does is in <see cref="StoreContractTests"/>.</summary>
public class SqliteStoreTests
{
    [Fact]
    public async Task Second_store_on_the_same_directory_is_refused()
    {
        var dir = Directory.CreateTempSubdirectory("store-lock-").FullName;
        try
        {
            await using (var first = new SqliteJobStore(dir))
            {
                await first.OpenAsync();
                await using var second = new SqliteJobStore(dir);
                var e = await Assert.ThrowsAsync<InvalidOperationException>(() => second.OpenAsync());
                Assert.Contains("in use by another scheduler", e.Message);
            }
            await using var third = new SqliteJobStore(dir);
            await third.OpenAsync();                           // released on dispose
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task A_progress_write_that_fails_fails_its_commit_and_the_progress_is_written_by_the_next()
    {
        var dir = Directory.CreateTempSubdirectory("store-progress-").FullName;
        try
        {
            await using var store = new SqliteJobStore(dir);
            await store.OpenAsync();
            var job = new StoredJob { Key = new JobKey("ns", "app", "ticking"), PartitionId = 7, Schedule = "@every 1s", FailurePolicy = [1], Created = 1 };
            Assert.True(await store.PutAsync(job, overwrite: false));
            await using (var side = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=False"))
            {
                side.Open();
                using var refuse = side.CreateCommand();
                refuse.CommandText = "CREATE TRIGGER refuse_progress BEFORE INSERT ON progress BEGIN SELECT RAISE(ABORT, 'progress refused'); END";
                refuse.ExecuteNonQuery();
            }
            var progress = new JobProgress(3, 30, 0, JobResultKind.Success);
            store.EnqueueProgress(new ProgressUpdate(job.RowId, job.PartitionId, progress));

            var failed = await Assert.ThrowsAsync<SqliteException>(() => store.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30)));
            Assert.Contains("progress refused", failed.Message);
            Assert.Equal(JobProgress.Initial, (await store.GetAsync(job.Key))!.Progress);

            await using (var side = new SqliteConnection($"Data Source={store.DatabasePath};Pooling=False"))
            {
                side.Open();
                using var allow = side.CreateCommand();
                allow.CommandText = "DROP TRIGGER refuse_progress";
                allow.ExecuteNonQuery();
            }
            // The failed commit put the progress back: the next commit writes it, on the same prepared statement.
            await store.FlushAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(progress, (await store.GetAsync(job.Key))!.Progress);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }
}
