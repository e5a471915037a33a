using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Engine;

public class StoreTests
{
    private static StoredJob Job(string name, ulong partition = 7) => new()
    {
        Key = new JobKey("ns", "app", name),
        PartitionId = partition,
        Schedule = "@daily",
        FailurePolicy = [],
        Created = 1,
    };

    [Fact]
    public async Task SecondStoreOnTheSameDirectoryIsRefused()
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
    public async Task ProgressForAReplacedJobIsNotApplied()
    {
        var dir = Directory.CreateTempSubdirectory("store-progress-").FullName;
        try
        {
            await using var store = new SqliteJobStore(dir);
            await store.OpenAsync();
            var old = Job("j", partition: 1);
            Assert.True(await store.PutAsync(old, overwrite: false));
            Assert.False(await store.PutAsync(Job("j", partition: 2), overwrite: false));
            Assert.True(await store.PutAsync(Job("j", partition: 3), overwrite: true));
            store.EnqueueProgress(new ProgressUpdate(old.RowId, 1, new JobProgress(5, 100, 0, JobResultKind.Success)));
            store.EnqueueCompletion(old.RowId, 1);
            await store.FlushAsync();
            var now = await store.GetAsync(new JobKey("ns", "app", "j"));
            Assert.Equal(3UL, now!.PartitionId);
            Assert.Equal(JobProgress.Initial, now.Progress);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }

    [Fact]
    public async Task ConcurrentPutsAreGroupCommittedAndAllDurable()
    {
        var dir = Directory.CreateTempSubdirectory("store-group-").FullName;
        try
        {
            await using (var store = new SqliteJobStore(dir))
            {
                await store.OpenAsync();
                await Task.WhenAll(Enumerable.Range(0, 500).Select(i => store.PutAsync(Job($"j{i:D3}", (ulong)i), false)));
            }
            await using var reopened = new SqliteJobStore(dir);
            await reopened.OpenAsync();
            var all = await reopened.ListAsync("ns", "app");
            Assert.Equal(500, all.Count);
            Assert.Equal(Enumerable.Range(0, 500).Select(i => $"j{i:D3}"), all.Select(j => j.Key.Name));
            var owned = new List<StoredJob>();
            await foreach (var j in reopened.LoadAsync(p => p % 2 == 0)) owned.Add(j);
            Assert.Equal(250, owned.Count);
            Assert.Equal(TickCalculator.None, owned[0].Due);
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(dir, true);
        }
    }
}
