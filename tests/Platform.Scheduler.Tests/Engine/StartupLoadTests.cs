using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Data.Sqlite;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;
using Platform.SchedulerProtocol.Common;

namespace Platform.Scheduler.Tests.Engine;

/// <summary>
/// The start-up load's shortcuts (issue 26, item 4) read what the plain paths read: the SQLite store's raw row reader
/// against its <see cref="SqliteDataReader"/> path (still used by Get), the default failure policy recognised by its
/// bytes against parsing them.
/// </summary>
public sealed class StartupLoadTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("startup-load-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, true); } catch (IOException) { }
    }

    [Fact]
    public void The_default_policy_recognised_by_its_bytes_is_the_parsed_one()
    {
        var bytes = RetryPolicy.Normalize(null).ToByteArray();
        Assert.Equal(new RetryPolicy(false, TimeSpan.TicksPerSecond, 3), RetryPolicy.From(bytes));
        Assert.Equal(RetryPolicy.Parse(bytes), RetryPolicy.From(bytes));
        // Other policies are still parsed, also one that differs from the default in its retries alone.
        var four = new JobFailurePolicy { Constant = new JobFailurePolicyConstant { Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), MaxRetries = 4 } };
        Assert.Equal(new RetryPolicy(false, TimeSpan.TicksPerSecond, 4), RetryPolicy.From(four.ToByteArray()));
        Assert.Equal(new RetryPolicy(true, 0, 0), RetryPolicy.From(new JobFailurePolicy { Drop = new JobFailurePolicyDrop() }.ToByteArray()));
    }

    [Fact]
    public async Task The_load_reads_every_row_as_get_reads_it_also_damaged_ones()
    {
        var policy = RetryPolicy.Normalize(null).ToByteArray();
        var jobs = new List<StoredJob>();
        for (var i = 0; i < 40; i++)
        {
            // Apps and namespaces alternate, policies and schedules repeat, so reused values are tested where they change.
            jobs.Add(new StoredJob
            {
                Key = new JobKey(i % 3 == 0 ? "other-ns" : "ns", i % 2 == 0 ? "app-a" : "app-b", $"job-{i:D2}"),
                PartitionId = (ulong)i * 0x9E3779B97F4A7C15UL,
                Schedule = i % 5 == 0 ? null : i % 2 == 0 ? "@every 1h" : "@daily",
                Repeats = i % 4 == 0 ? (uint)i : null,
                DueTime = i % 5 == 0 ? "2030-01-01T00:00:00Z" : null,
                Ttl = i % 6 == 0 ? "1h" : null,
                Data = i % 7 == 0 ? null : [(byte)i, 1, 2],
                FailurePolicy = i % 8 == 0 ? new JobFailurePolicy { Drop = new JobFailurePolicyDrop() }.ToByteArray() : policy,
                Created = 600_000_000_000_000_000 + i,
                Due = i % 5 == 0 ? 640_000_000_000_000_000 : TickCalculator.None,
                Expiration = i % 6 == 0 ? 650_000_000_000_000_000 : long.MaxValue,
                TraceParent = i % 3 == 1 ? "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01" : null,
                TraceState = i % 9 == 1 ? "k=v" : null,
            });
        }
        await using (var store = new SqliteJobStore(_directory))
        {
            await store.OpenAsync();
            // Together, so they share one commit.
            Assert.All(await Task.WhenAll(jobs.Select(job => store.PutAsync(job, overwrite: false))), Assert.True);
            foreach (var job in jobs.Where((_, i) => i % 3 == 0))
                store.EnqueueProgress(new ProgressUpdate(job.RowId, job.PartitionId, new JobProgress(5, 630_000_000_000_000_000, 2, JobResultKind.Failed)));
        }
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(_directory, "scheduler.db"), Pooling = false }.ToString()))
        {
            connection.Open();
            using var damage = connection.CreateCommand();
            damage.CommandText = """
                UPDATE jobs SET failure_policy = 'not a blob' WHERE name = 'job-01';
                UPDATE jobs SET data = 12 WHERE name = 'job-02';
                UPDATE jobs SET schedule = 42 WHERE name = 'job-03';
                UPDATE jobs SET data = '' WHERE name = 'job-04';
                UPDATE jobs SET trace_state = '' WHERE name = 'job-05';
                """;
            damage.ExecuteNonQuery();
        }

        await using var reopened = new SqliteJobStore(_directory);
        await reopened.OpenAsync();
        var loaded = new List<StoredJob>();
        await foreach (var job in reopened.LoadAsync(p => p % 3 != 1)) loaded.Add(job);

        Assert.Equal(jobs.Count(j => j.PartitionId % 3 != 1), loaded.Count);
        Assert.Contains(loaded, j => j.LoadError is not null);
        foreach (var job in loaded)
        {
            var got = await reopened.GetAsync(job.Key);
            Assert.NotNull(got);
            Assert.Equal(Describe(got), Describe(job));
            Assert.Equal(got.LoadError is null, job.LoadError is null);
            if (got.LoadError is not null) Assert.StartsWith("unreadable stored row: ", job.LoadError);
        }
        // The usage count, read by the same reader at open, counts what SQLite counts.
        Assert.Equal(Storage.SqliteTruth.Of(_directory), reopened.Usage.Total);
    }

    [Fact]
    public async Task A_row_id_reused_after_the_store_opened_loads_its_own_key()
    {
        await using (var first = new SqliteJobStore(_directory))
        {
            await first.OpenAsync();
            Assert.True(await first.PutAsync(Job("before"), overwrite: false));
        }
        await using var store = new SqliteJobStore(_directory);
        await store.OpenAsync();
        // The open read "before" at row id 1; with the table emptied SQLite gives the next job row id 1 again.
        await store.DeleteAsync(new JobKey("ns", "app", "before"));
        var after = Job("after");
        Assert.True(await store.PutAsync(after, overwrite: false));
        Assert.Equal(1, after.RowId);

        var loaded = new List<StoredJob>();
        await foreach (var job in store.LoadAsync(_ => true)) loaded.Add(job);

        Assert.Equal(new JobKey("ns", "app", "after"), Assert.Single(loaded).Key);
    }

    private static StoredJob Job(string name) => new()
    {
        Key = new JobKey("ns", "app", name),
        PartitionId = 7,
        Schedule = "@daily",
        FailurePolicy = RetryPolicy.Normalize(null).ToByteArray(),
        Created = 1,
    };

    private static string Describe(StoredJob j) => string.Join("|",
        j.RowId, j.Key, j.PartitionId, j.Schedule, j.Repeats, j.DueTime, j.Ttl, j.Data is null ? "null" : Convert.ToHexString(j.Data),
        Convert.ToHexString(j.FailurePolicy), j.Created, j.Due, j.Expiration, j.TraceParent ?? "null", j.TraceState ?? "null", j.Progress, j.Revision);
}
