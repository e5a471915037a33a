using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;
using Platform.Scheduler.Storage.Etcd;
using Platform.Scheduler.Tests.Storage;
using TestSupport;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// What every <see cref="IJobStore"/> must do, run against each store: the SQLite file and an etcd cluster (skipped,
/// saying why, without Debian's etcd). Each test gets its own backing (a directory, a key prefix); <see cref="CreateStore"/>
/// makes a new, unopened store over it, so a test can close one and open another to see what is durable.
/// </summary>
public sealed class StoreContractTests(EtcdClusterFixture etcd) : IClassFixture<EtcdClusterFixture>, IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("store-contract-").FullName;
    private readonly string _prefix = "test-" + Guid.NewGuid().ToString("N")[..8];
    private string _kind = "";

    private TimeSpan? _progressFlushInterval;

    private IJobStore CreateStore() => _kind switch
    {
        "sqlite" => new SqliteJobStore(_directory, options: _progressFlushInterval is { } interval ? new SqliteJobStoreOptions { ProgressFlushInterval = interval } : null),
        "etcd" => new EtcdJobStore(WithInterval(etcd.Cluster.StoreOptions(_prefix))),
        _ => throw new ArgumentException(_kind),
    };

    private EtcdStoreOptions WithInterval(EtcdStoreOptions options)
    {
        if (_progressFlushInterval is { } interval) options.ProgressFlushInterval = interval;
        return options;
    }

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, true); } catch (IOException) { }
    }

    private static StoredJob Job(string name, ulong partition = 7, string app = "app", string ns = "ns") => new()
    {
        Key = new JobKey(ns, app, name),
        PartitionId = partition,
        Schedule = "@daily",
        FailurePolicy = [1, 2, 3],
        Created = 1,
        Data = [9, 8],
        TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    };

    private async Task<IJobStore> OpenAsync(Action<JobChange>? listener = null)
    {
        Assert.NotEqual("", _kind);
        var store = CreateStore();
        if (listener is not null) store.SetChangeListener(listener);
        await store.OpenAsync();
        return store;
    }

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task Progress_for_a_replaced_job_is_not_applied(string kind)
    {
        _kind = kind;
        await using var store = await OpenAsync();
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

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task An_awaited_write_is_not_held_back_while_queued_progress_gathers_and_takes_it_along(string kind)
    {
        _kind = kind;
        // Progress alone waits this long for more to gather; a ScheduleJob behind it must not wait with it.
        _progressFlushInterval = TimeSpan.FromMinutes(10);
        await using var store = await OpenAsync();
        var ticking = Job("ticking");
        Assert.True(await store.PutAsync(ticking, overwrite: false));
        store.EnqueueProgress(new ProgressUpdate(ticking.RowId, ticking.PartitionId, new JobProgress(1, 100, 0, JobResultKind.Success)));

        Assert.True(await store.PutAsync(Job("scheduled"), overwrite: false).WaitAsync(TimeSpan.FromSeconds(30)));

        Assert.Equal(1u, (await store.GetAsync(ticking.Key))!.Progress.Count);
    }

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task Awaited_writes_right_behind_queued_progress_never_wait_for_it_to_gather(string kind)
    {
        _kind = kind;
        _progressFlushInterval = TimeSpan.FromMinutes(10);
        await using var store = await OpenAsync();
        var ticking = Job("ticking");
        Assert.True(await store.PutAsync(ticking, overwrite: false));
        // Each round wakes the writer for progress alone and submits a write at once, so the write lands anywhere in
        // the writer's look at its queue before it waits; a write its wait misses would hold up the round 10 minutes.
        for (uint round = 1; round <= 300; round++)
        {
            store.EnqueueProgress(new ProgressUpdate(ticking.RowId, ticking.PartitionId, new JobProgress(round, 100, 0, JobResultKind.Success)));
            await store.DeleteAsync(new JobKey("ns", "app", "absent")).WaitAsync(TimeSpan.FromSeconds(30));
        }
        Assert.Equal(300u, (await store.GetAsync(ticking.Key))!.Progress.Count);
    }

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task Disposing_commits_queued_progress_without_waiting_for_it_to_gather(string kind)
    {
        _kind = kind;
        _progressFlushInterval = TimeSpan.FromMinutes(10);
        var ticking = Job("ticking");
        var store = await OpenAsync();
        Assert.True(await store.PutAsync(ticking, overwrite: false));
        store.EnqueueProgress(new ProgressUpdate(ticking.RowId, ticking.PartitionId, new JobProgress(2, 100, 0, JobResultKind.Success)));
        await store.DisposeAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(30));
        await using var reopened = await OpenAsync();
        Assert.Equal(2u, (await reopened.GetAsync(ticking.Key))!.Progress.Count);
    }

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task Concurrent_puts_are_all_durable_and_listed_in_name_order(string kind)
    {
        _kind = kind;
        await using (var store = await OpenAsync())
        {
            await Task.WhenAll(Enumerable.Range(0, 500).Select(i => store.PutAsync(Job($"j{i:D3}", (ulong)i), false)));
        }
        await using var reopened = await OpenAsync();
        var all = await reopened.ListAsync("ns", "app");
        Assert.Equal(500, all.Count);
        Assert.Equal(Enumerable.Range(0, 500).Select(i => $"j{i:D3}"), all.Select(j => j.Key.Name));
        var owned = new List<StoredJob>();
        await foreach (var j in reopened.LoadAsync(p => p % 2 == 0)) owned.Add(j);
        Assert.Equal(250, owned.Count);
        Assert.Equal(TickCalculator.None, owned[0].Due);
    }

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task Job_fields_progress_and_attempts_survive_reopening(string kind)
    {
        _kind = kind;
        var job = Job("kept");
        var progress = new JobProgress(3, 638_000_000_000_000_000, 2, JobResultKind.Failed);
        await using (var store = await OpenAsync())
        {
            Assert.True(await store.PutAsync(job, overwrite: false));
            store.EnqueueProgress(new ProgressUpdate(job.RowId, job.PartitionId, new JobProgress(1, 5, 0, JobResultKind.Success)));
            // Coalesced: only the latest progress of a job is written.
            store.EnqueueProgress(new ProgressUpdate(job.RowId, job.PartitionId, progress));
        }
        await using var reopened = await OpenAsync();
        var loaded = new List<StoredJob>();
        await foreach (var j in reopened.LoadAsync(_ => true)) loaded.Add(j);
        var back = Assert.Single(loaded);
        Assert.Equal(progress, back.Progress);
        Assert.Equal((job.Key, job.PartitionId, job.Schedule, job.Created, job.TraceParent), (back.Key, back.PartitionId, back.Schedule, back.Created, back.TraceParent));
        Assert.Equal(job.FailurePolicy, back.FailurePolicy);
        Assert.Equal(job.Data, back.Data);
        Assert.Equal((TickCalculator.None, long.MaxValue), (back.Due, back.Expiration));
    }

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task A_completed_job_is_gone_and_an_overwrite_starts_from_no_progress(string kind)
    {
        _kind = kind;
        await using var store = await OpenAsync();
        var done = Job("done");
        var redone = Job("redone");
        Assert.True(await store.PutAsync(done, false));
        Assert.True(await store.PutAsync(redone, false));
        store.EnqueueProgress(new ProgressUpdate(redone.RowId, redone.PartitionId, new JobProgress(4, 10, 0, JobResultKind.Success)));
        store.EnqueueCompletion(done.RowId, done.PartitionId);
        await store.FlushAsync();
        Assert.Null(await store.GetAsync(done.Key));
        Assert.Equal(4u, (await store.GetAsync(redone.Key))!.Progress.Count);
        Assert.True(await store.PutAsync(Job("redone", partition: 99), overwrite: true));
        Assert.Equal(JobProgress.Initial, (await store.GetAsync(redone.Key))!.Progress);
    }

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task Deletes_reach_the_listener_before_their_caller_and_prefix_deletes_take_only_that_app(string kind)
    {
        _kind = kind;
        var heard = new List<string>();
        await using var store = await OpenAsync(change =>
        {
            lock (heard) heard.Add(change switch
            {
                JobChange.Put p => "put " + p.Job.Key.Name,
                JobChange.Deleted d => "deleted " + d.Key.Name,
                JobChange.PrefixDeleted p => $"prefix {p.AppId} " + string.Join(",", p.Names.Order(StringComparer.Ordinal)),
                _ => "?",
            });
        });
        foreach (var name in new[] { "backup-1", "backup-2", "other" }) Assert.True(await store.PutAsync(Job(name), false));
        // Another app whose id extends this one's with '|' (not "||", which app ids may not hold): a careless key range
        // of app "app" would take its jobs too.
        Assert.True(await store.PutAsync(Job("backup-3", app: "app|x"), false));
        Assert.True(await store.PutAsync(Job("backup-4", ns: "ns2"), false));
        await store.DeleteAsync(new JobKey("ns", "app", "other"));
        lock (heard) Assert.Equal("deleted other", heard[^1]);
        int before;
        lock (heard) before = heard.Count;
        await store.DeleteByPrefixAsync("ns", "app", "backup-");
        // Heard of as one prefix deletion, or as the single deletions etcd's watch brought first: each name once.
        lock (heard)
        {
            var gone = heard.Skip(before).SelectMany(h => h.StartsWith("prefix app ", StringComparison.Ordinal)
                ? h["prefix app ".Length..].Split(',') : h.StartsWith("deleted ", StringComparison.Ordinal) ? [h["deleted ".Length..]] : []);
            Assert.Equal(["backup-1", "backup-2"], gone.Order(StringComparer.Ordinal));
        }
        Assert.Empty(await store.ListAsync("ns", "app"));
        Assert.Single(await store.ListAsync("ns", "app|x"));
        Assert.Single(await store.ListAsync("ns2", "app"));
        // etcd's watch may bring a write before the writer reports it (the engine tells the two apart by revision): order
        // is what counts here, once each.
        lock (heard) Assert.Equal(["put backup-1", "put backup-2", "put other", "put backup-3", "put backup-4"], heard.Where(h => h.StartsWith("put ", StringComparison.Ordinal)).Distinct());
    }

    [Theory, InlineData("sqlite"), EtcdInlineData("etcd")]
    public async Task List_all_orders_by_namespace_then_app_then_name(string kind)
    {
        _kind = kind;
        await using var store = await OpenAsync();
        foreach (var (ns, app, name) in new[] { ("a-b", "x", "1"), ("a", "y", "2"), ("a", "x", "3"), ("a", "x", "1") })
            Assert.True(await store.PutAsync(Job(name, app: app, ns: ns), false));
        var all = await store.ListAllAsync(null, null);
        Assert.Equal(["a/x/1", "a/x/3", "a/y/2", "a-b/x/1"], all.Select(j => $"{j.Key.Namespace}/{j.Key.AppId}/{j.Key.Name}"));
        Assert.Equal(["a/x/1", "a/x/3", "a/y/2"], (await store.ListAllAsync("a", null)).Select(j => $"{j.Key.Namespace}/{j.Key.AppId}/{j.Key.Name}"));
        Assert.Equal(["a/y/2"], (await store.ListAllAsync("a", "y")).Select(j => $"{j.Key.Namespace}/{j.Key.AppId}/{j.Key.Name}"));
    }
}
