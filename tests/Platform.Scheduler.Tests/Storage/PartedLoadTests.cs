using Google.Protobuf;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Time.Testing;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// The SQLite store's load split by row id into parts read on threads of their own (issue 26, item 4): together the
/// parts read what one read reads, damaged rows as placeholders, only the owned rows, and the usage count is taken
/// once, from all of them, with the writes committed meanwhile counted once.
/// </summary>
public sealed class PartedLoadTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("parted-load-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, true); } catch (IOException) { }
    }

    [Fact]
    public async Task The_parts_together_read_what_one_read_reads_damaged_rows_as_placeholders()
    {
        await StoreAsync(40);
        Damage("job-01", "job-13", "job-26");
        await using var store = new SqliteJobStore(_directory) { RowsPerPart = 5 };
        await store.OpenAsync();

        var parted = new List<StoredJob>();
        using (var load = store.LoadInParts(p => p % 3 != 1, 4, deferData: true, default))
        {
            Assert.Equal(4, load.Parts.Count);
            foreach (var part in load.Parts)
                await foreach (var job in part) parted.Add(job);
        }
        var whole = new List<StoredJob>();
        await foreach (var job in store.LoadWithoutDataAsync(p => p % 3 != 1)) whole.Add(job);

        Assert.Equal(Enumerable.Range(0, 40).Count(i => PartitionOf(i) % 3 != 1), whole.Count);
        Assert.Equal(whole.Select(Describe), parted.Select(Describe));
        Assert.All(parted, job => Assert.NotEqual(1UL, job.PartitionId % 3));
        Assert.Equal(new[] { 1, 13, 26 }.Where(i => PartitionOf(i) % 3 != 1).Select(i => $"job-{i:D2}"),
            parted.Where(j => j.LoadError is not null).Select(j => j.Key.Name));
        Assert.Contains(parted, j => j.LoadError is not null);
        Assert.Equal(Truth(), store.Usage.Total);
    }

    [Fact]
    public async Task A_parted_load_installs_every_owned_job_as_stored_and_quarantines_the_damaged_ones()
    {
        await StoreAsync(40);
        Damage("job-13", "job-26");
        await using var store = new SqliteJobStore(_directory) { RowsPerPart = 5 };
        await using var engine = new SchedulerEngine(store, new FakeTimeProvider(Start));
        await engine.StartAsync();

        Assert.Equal(40, engine.JobCount);
        for (var i = 0; i < 40; i++)
        {
            Assert.True(engine.TryGetLiveStatus(Key($"job-{i:D2}"), out _, out var nextDue, out var quarantine));
            if (i is 13 or 26) Assert.StartsWith("install failed: unreadable stored row", quarantine);
            else
            {
                // Each job's own: the parts read every row into one record, refilled.
                Assert.Null(quarantine);
                Assert.Equal(Start.AddMinutes(i).AddHours(1), nextDue);
            }
        }
    }

    [Fact]
    public async Task A_parted_first_load_counts_every_row_of_every_part()
    {
        await StoreAsync(1);
        using (var connection = Open())
        {
            // Straight into the table: 5,000 rows through the store's writes would take seconds.
            using var insert = connection.CreateCommand();
            insert.CommandText = """
                WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 5000)
                INSERT INTO jobs(namespace, app_id, name, partition_id, schedule, data, failure_policy, created)
                SELECT 'ns', CASE WHEN i % 7 = 0 THEN 'other' ELSE 'app' END, 'bulk-' || i, i, '@every 1h', zeroblob(i % 5), x'', 1 FROM n
                """;
            insert.ExecuteNonQuery();
        }
        var truth = Truth();
        // Two parts of 2,500 rows: each counts a full batch of 2,048 and then the rest.
        await using var store = new SqliteJobStore(_directory) { RowsPerPart = 2000 };
        await store.OpenAsync();

        var owned = 0;
        using (var load = store.LoadInParts(p => p % 2 == 0, 4, deferData: true, default))
        {
            Assert.Equal(2, load.Parts.Count);
            foreach (var part in load.Parts)
                await foreach (var _ in part) owned++;
        }
        // Taken by the load: rows deleted behind the store's back afterwards are still counted.
        using (var connection = Open())
        {
            using var delete = connection.CreateCommand();
            delete.CommandText = "DELETE FROM jobs WHERE app_id = 'other'";
            delete.ExecuteNonQuery();
        }

        Assert.Equal(2500 + 1, owned); // and job-00, at partition 0
        Assert.Equal(truth, store.Usage.Total);
        Assert.Equal(Enumerable.Range(1, 5000).Where(i => i % 7 == 0).Aggregate((0, 0L), (t, i) => (t.Item1 + 1, t.Item2 + i % 5)), store.Usage.App("ns", "other"));
    }

    public enum Ending { LoadFinishes, CountAskedForFirst, OnePartAbandoned }

    [Theory]
    [InlineData(Ending.LoadFinishes)]
    [InlineData(Ending.CountAskedForFirst)]
    [InlineData(Ending.OnePartAbandoned)]
    public async Task Writes_during_a_parted_first_load_are_counted_once(Ending ending)
    {
        await StoreAsync(8);
        await using var store = new SqliteJobStore(_directory) { RowsPerPart = 2 };
        await store.OpenAsync();
        using var load = store.LoadInParts(_ => true, 2, deferData: true, default);
        Assert.Equal(2, load.Parts.Count);
        var first = load.Parts[0].GetAsyncEnumerator();
        var second = load.Parts[1].GetAsyncEnumerator();
        try
        {
            Assert.True(await first.MoveNextAsync());
            Assert.True(await second.MoveNextAsync());
            // One write to a row of each part, one new row (after both) and one deletion.
            Assert.True(await store.PutAsync(Job("new", 3), overwrite: false));
            await store.DeleteAsync(Key("job-01"));
            Assert.True(await store.PutAsync(Job("job-06", 25, partitionId: 8), overwrite: true));
            if (ending == Ending.CountAskedForFirst)
            {
                Assert.Equal(Truth(), store.Usage.Total);
                Assert.True(await store.PutAsync(Job("later", 1), overwrite: false));
            }
            while (await first.MoveNextAsync()) { }
            if (ending != Ending.OnePartAbandoned)
                while (await second.MoveNextAsync()) { }
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
        }
        Assert.True(await store.PutAsync(Job("after", 7), overwrite: false));
        await store.FlushAsync();

        Assert.Equal(Truth(), store.Usage.Total);
        Assert.Equal(Truth(), store.Usage.App("ns", "app"));
        Assert.Equal(25, store.Usage.BytesOf(Key("job-06")));
        Assert.Null(store.Usage.BytesOf(Key("job-01")));
    }

    private async Task StoreAsync(int count)
    {
        await using var store = new SqliteJobStore(_directory);
        await store.OpenAsync();
        for (var i = 0; i < count; i++)
            Assert.True(await store.PutAsync(Job($"job-{i:D2}", i % 4, PartitionOf(i), createdMinutes: i), overwrite: false));
    }

    private SqliteConnection Open()
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, "scheduler.db"), Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private void Damage(params string[] names)
    {
        using var connection = Open();
        using var damage = connection.CreateCommand();
        damage.CommandText = string.Concat(names.Select(n => $"UPDATE jobs SET failure_policy = 'not a blob' WHERE name = '{n}';"));
        damage.ExecuteNonQuery();
    }

    /// <summary>What SQLite holds: jobs and bytes of data.</summary>
    private (int, long) Truth() => SqliteTruth.Of(_directory);

    private static ulong PartitionOf(int job) => unchecked((ulong)job * 0x9E3779B97F4A7C15UL);

    private static JobKey Key(string name) => new("ns", "app", name);

    private static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private static StoredJob Job(string name, int bytes, ulong partitionId = 7, int createdMinutes = 0) => new()
    {
        Key = Key(name),
        PartitionId = partitionId,
        Schedule = "@every 1h",
        Data = new byte[bytes],
        FailurePolicy = RetryPolicy.Normalize(null).ToByteArray(),
        Created = Start.AddMinutes(createdMinutes).UtcTicks,
    };

    private static string Describe(StoredJob j) => string.Join("|",
        j.RowId, j.Key, j.PartitionId, j.Schedule, j.Repeats, j.DueTime, j.Ttl, j.DataInStore, Convert.ToHexString(j.FailurePolicy),
        j.Created, j.Due, j.Expiration, j.Progress, j.LoadError ?? "ok");
}
