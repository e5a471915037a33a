using Microsoft.Data.Sqlite;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// The SQLite store counts its usage (what the quotas read) on the first load's pass over every row rather than with a
/// read of its own at open (issue 26, item 4). Writes committed while that load is under way are counted once, whether
/// the load finishes, is abandoned, or something asks for the count first.
/// </summary>
public sealed class SqliteUsageCountTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("usage-count-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, true); } catch (IOException) { }
    }

    public enum Ending { LoadFinishes, CountAskedForFirst, LoadAbandoned }

    [Theory]
    [InlineData(Ending.LoadFinishes)]
    [InlineData(Ending.CountAskedForFirst)]
    [InlineData(Ending.LoadAbandoned)]
    public async Task Writes_during_the_first_load_are_counted_once(Ending ending)
    {
        await using (var first = new SqliteJobStore(_directory))
        {
            await first.OpenAsync();
            foreach (var name in new[] { "a", "b", "c", "d" }) Assert.True(await first.PutAsync(Job(name, 10), overwrite: false));
        }
        await using var store = new SqliteJobStore(_directory);
        await store.OpenAsync();
        var load = store.LoadWithoutDataAsync(_ => true).GetAsyncEnumerator();
        try
        {
            Assert.True(await load.MoveNextAsync());          // the load's read has begun
            Assert.True(await store.PutAsync(Job("new", 3), overwrite: false));
            await store.DeleteAsync(new JobKey("ns", "app", "b"));
            Assert.True(await store.PutAsync(Job("c", 25, partitionId: 8), overwrite: true));
            if (ending == Ending.CountAskedForFirst)
            {
                Assert.Equal(Truth(), store.Usage.Total);
                Assert.True(await store.PutAsync(Job("later", 1), overwrite: false));
            }
            if (ending != Ending.LoadAbandoned)
                while (await load.MoveNextAsync()) { }
        }
        finally
        {
            await load.DisposeAsync();
        }
        // Also a write after the count is taken is counted.
        Assert.True(await store.PutAsync(Job("after", 7), overwrite: false));
        store.EnqueueCompletion(1, 7);                      // "a" finished: deleted by the next commit
        await store.FlushAsync();

        Assert.Equal(Truth(), store.Usage.Total);
        Assert.Equal(Truth(), store.Usage.App("ns", "app"));
        Assert.Equal(25, store.Usage.BytesOf(new JobKey("ns", "app", "c")));
        Assert.Null(store.Usage.BytesOf(new JobKey("ns", "app", "a")));
        Assert.Null(store.Usage.BytesOf(new JobKey("ns", "app", "b")));
    }

    /// <summary>What SQLite holds: jobs and bytes of data.</summary>
    private (int, long) Truth() => SqliteTruth.Of(_directory);

    private static StoredJob Job(string name, int bytes, ulong partitionId = 7) => new()
    {
        Key = new JobKey("ns", "app", name),
        PartitionId = partitionId,
        Schedule = "@daily",
        Data = new byte[bytes],
        FailurePolicy = Google.Protobuf.MessageExtensions.ToByteArray(RetryPolicy.Normalize(null)),
        Created = 1,
    };
}
