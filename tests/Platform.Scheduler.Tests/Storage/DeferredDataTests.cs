using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// The SQLite store's load that leaves each job's data in the store, and the read-back per trigger (issue 26, item 4):
/// the data read back is always that of the definition asked for, never another's.
/// </summary>
public sealed class DeferredDataTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("deferred-data-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, true); } catch (IOException) { }
    }

    [Fact]
    public async Task The_load_leaves_data_in_the_store_and_each_read_back_is_of_its_own_definition()
    {
        var withData = Job("with-data", [1, 2, 3]);
        var without = Job("without", null);
        var empty = Job("empty", []);
        var damaged = Job("damaged", [9]);
        await using (var first = new SqliteJobStore(_directory))
        {
            await first.OpenAsync();
            foreach (var job in new[] { withData, without, empty, damaged }) Assert.True(await first.PutAsync(job, overwrite: false));
        }
        Execute("UPDATE jobs SET data = 'text' WHERE name = 'damaged'");

        await using var store = new SqliteJobStore(_directory);
        await store.OpenAsync();
        var loaded = new Dictionary<string, StoredJob>();
        await foreach (var job in store.LoadWithoutDataAsync(_ => true)) loaded[job.Key.Name] = job;

        Assert.All(loaded.Values, j => Assert.Null(j.Data));
        Assert.True(loaded["with-data"].DataInStore);
        Assert.False(loaded["without"].DataInStore);
        Assert.True(loaded["empty"].DataInStore);
        // A row whose data could not be read is the same placeholder the full load gives.
        var full = new Dictionary<string, StoredJob>();
        await foreach (var job in store.LoadAsync(_ => true)) full[job.Key.Name] = job;
        Assert.Equal(full["damaged"].LoadError, loaded["damaged"].LoadError);
        Assert.NotNull(loaded["damaged"].LoadError);

        Assert.True(store.TryReadData(withData.RowId, withData.PartitionId, out var data));
        Assert.Equal([1, 2, 3], data!);
        Assert.True(store.TryReadData(without.RowId, without.PartitionId, out data));
        Assert.Null(data);
        Assert.True(store.TryReadData(empty.RowId, empty.PartitionId, out data));
        Assert.Equal([], data!);
        Assert.Throws<InvalidDataException>(() => store.TryReadData(damaged.RowId, damaged.PartitionId, out _));

        // Overwritten: the old definition's data is gone, the new one's is read under its own partition id.
        var overwrite = Job("with-data", [4, 5], partitionId: withData.PartitionId + 1);
        Assert.True(await store.PutAsync(overwrite, overwrite: true));
        Assert.Equal(withData.RowId, overwrite.RowId);
        Assert.False(store.TryReadData(withData.RowId, withData.PartitionId, out data));
        Assert.Null(data);
        Assert.True(store.TryReadData(overwrite.RowId, overwrite.PartitionId, out data));
        Assert.Equal([4, 5], data!);

        await store.DeleteAsync(without.Key);
        Assert.False(store.TryReadData(without.RowId, without.PartitionId, out _));
    }

    [Fact]
    public async Task A_read_back_holds_no_snapshot_so_it_sees_the_next_commit()
    {
        var job = Job("j", [1]);
        await using var store = new SqliteJobStore(_directory);
        await store.OpenAsync();
        Assert.True(await store.PutAsync(job, overwrite: false));
        Assert.True(store.TryReadData(job.RowId, job.PartitionId, out _));
        await store.DeleteAsync(job.Key);
        Assert.False(store.TryReadData(job.RowId, job.PartitionId, out _));
    }

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, "scheduler.db"), Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static StoredJob Job(string name, byte[]? data, ulong partitionId = 7) => new()
    {
        Key = new JobKey("ns", "app", name),
        PartitionId = partitionId,
        Schedule = "@daily",
        Data = data,
        FailurePolicy = RetryPolicy.Normalize(null).ToByteArray(),
        Created = 1,
    };
}
