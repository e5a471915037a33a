using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Limits;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Services;
using Platform.Scheduler.Storage;
using Platform.Scheduler.Storage.Etcd;
using Platform.Scheduler.Tests.Engine;
using TestSupport;
using static Platform.Scheduler.Tests.Engine.EngineHarness;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// Quotas that bound memory: bytes of job data per app and in all, jobs in all, counted from the store so replicas
/// agree; a refusal is RESOURCE_EXHAUSTED naming the bound. And names that would collide with the key layout.
/// </summary>
[Collection(EtcdStorageCollection.Name)]
public sealed class StoreQuotaTests(EtcdClusterFixture etcd)
{
    private static Any Payload(int bytes) => Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[bytes]) });

    [Fact]
    public async Task Bytes_of_job_data_per_app_are_bounded_and_the_refusal_names_the_limit()
    {
        var size = Payload(200).CalculateSize();
        await using var h = await StartAsync(options: new SchedulerEngineOptions { MaxJobDataBytesPerApp = size * 2 });
        await h.ScheduleAsync("a", schedule: "@daily", data: Payload(200));
        await h.ScheduleAsync("b", schedule: "@daily", data: Payload(200));

        var refused = await Assert.ThrowsAsync<JobQuotaException>(() => h.ScheduleAsync("c", schedule: "@daily", data: Payload(200)));
        Assert.Equal($"app 'default||app1' holds {size * 2} bytes of job data, {size} more would pass the limit of {size * 2} bytes per app", refused.Message);
        Assert.Equal(StatusCode.ResourceExhausted, EngineErrorInterceptor.StatusOf(refused)?.StatusCode);
        Assert.Null(await h.Engine.GetJobAsync(Key("c")));

        // Another app has its own bytes; a smaller payload in place of a held one frees room; a deletion too.
        await h.ScheduleAsync("c", schedule: "@daily", data: Payload(200), app: "app2");
        await h.ScheduleAsync("a", schedule: "@daily", data: Payload(10), overwrite: true);
        await h.ScheduleAsync("c", schedule: "@daily", data: Payload(100));
        await h.Engine.DeleteJobAsync(Key("b"));
        await h.ScheduleAsync("d", schedule: "@daily", data: Payload(200));
    }

    [Fact]
    public async Task The_scheduler_wide_bounds_count_every_apps_jobs_and_bytes()
    {
        var size = Payload(100).CalculateSize();
        await using (var h = await StartAsync(options: new SchedulerEngineOptions { MaxJobs = 3 }))
        {
            await h.ScheduleAsync("a", schedule: "@daily", app: "app1");
            await h.ScheduleAsync("b", schedule: "@daily", app: "app1");
            await h.ScheduleAsync("c", schedule: "@daily", app: "app2");
            var refused = await Assert.ThrowsAsync<JobQuotaException>(() => h.ScheduleAsync("d", schedule: "@daily", app: "app3"));
            Assert.Equal("the scheduler holds 3 jobs, the limit of 3 jobs in all", refused.Message);
            Assert.Equal(StatusCode.ResourceExhausted, EngineErrorInterceptor.StatusOf(refused)?.StatusCode);
            // Replacing a held name adds no job.
            await h.ScheduleAsync("a", schedule: "@weekly", app: "app1", overwrite: true);
        }
        await using (var h = await StartAsync(options: new SchedulerEngineOptions { MaxJobDataBytesTotal = size * 2 }))
        {
            await h.ScheduleAsync("a", schedule: "@daily", app: "app1", data: Payload(100));
            await h.ScheduleAsync("b", schedule: "@daily", app: "app2", data: Payload(100));
            var refused = await Assert.ThrowsAsync<JobQuotaException>(() => h.ScheduleAsync("c", schedule: "@daily", app: "app3", data: Payload(100)));
            Assert.Equal($"the scheduler holds {size * 2} bytes of job data, {size} more would pass the limit of {size * 2} bytes in all", refused.Message);
        }
    }

    [Fact]
    public async Task The_counts_survive_a_restart_because_they_are_read_from_the_store()
    {
        var dir = Directory.CreateTempSubdirectory("quota-restart-").FullName;
        try
        {
            var options = new SchedulerEngineOptions { MaxJobs = 2 };
            var h = await StartAsync(dir, options: options);
            await h.ScheduleAsync("a", schedule: "@daily");
            await h.ScheduleAsync("b", schedule: "@daily", app: "app2");
            await h.StopAsync();
            await using var again = await StartAsync(dir, options: new SchedulerEngineOptions { MaxJobs = 2 });
            await Assert.ThrowsAsync<JobQuotaException>(() => again.ScheduleAsync("c", schedule: "@daily"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, recursive: true); } catch (IOException) { }
        }
    }

    [EtcdFact]
    public async Task Replicas_agree_on_the_quota_because_it_is_counted_from_the_store_not_from_the_jobs_each_owns()
    {
        var prefix = "quota-" + Guid.NewGuid().ToString("N")[..8];
        // Two replicas of one store; neither owns any job (no election here), as a replica whose partition holds none of the app's jobs.
        await using var storeA = new EtcdJobStore(etcd.Cluster.StoreOptions(prefix));
        await using var storeB = new EtcdJobStore(etcd.Cluster.StoreOptions(prefix));
        await using var a = new SchedulerEngine(storeA, options: new SchedulerEngineOptions { Partition = null, MaxJobsPerApp = 2 });
        await using var b = new SchedulerEngine(storeB, options: new SchedulerEngineOptions { Partition = null, MaxJobsPerApp = 2 });
        await a.StartAsync();
        await b.StartAsync();

        var definition = new JobDefinition { Schedule = "@daily" };
        await a.ScheduleJobAsync(new JobKey("default", "app1", "x"), definition, overwrite: false);
        await a.ScheduleJobAsync(new JobKey("default", "app1", "y"), definition, overwrite: false);

        // b hears of a's writes through its watch; then its quota is as full as a's.
        var usage = storeB.Usage;
        await Poll.UntilAsync(() => Task.FromResult(usage.App("default", "app1").Count == 2), TimeSpan.FromSeconds(10), "b's store counting a's jobs");
        var refused = await Assert.ThrowsAsync<JobQuotaException>(() => b.ScheduleJobAsync(new JobKey("default", "app1", "z"), definition, overwrite: false));
        Assert.Equal("app 'default||app1' holds 2 jobs, the limit of 2 jobs per app", refused.Message);
    }

    [Fact]
    public async Task An_app_id_or_namespace_holding_the_key_separator_is_refused_with_daprs_text()
    {
        await using var h = await StartAsync();
        foreach (var app in new[] { "backupworker||x", "app|", "|app" })
        {
            var refused = await Assert.ThrowsAsync<JobArgumentException>(() => h.ScheduleAsync("j", schedule: "@daily", app: app));
            Assert.Equal($"input key/keyPrefix '{app}' can't contain '||'", refused.Message);
            Assert.Equal(StatusCode.InvalidArgument, EngineErrorInterceptor.StatusOf(refused)?.StatusCode);
        }
        var ns = await Assert.ThrowsAsync<JobArgumentException>(() =>
            h.Engine.ScheduleJobAsync(new JobKey("a||b", "app1", "j"), new JobDefinition { Schedule = "@daily" }, overwrite: false));
        Assert.Equal("input key/keyPrefix 'a||b' can't contain '||'", ns.Message);

        // The name is the key's last field, so "||" in it cannot collide (Dapr allows it): stored and listed as given.
        await h.ScheduleAsync("x||foo", schedule: "@daily", app: "backupworker");
        Assert.Equal(["x||foo"], (await h.Engine.ListJobsAsync("default", "backupworker")).Select(j => j.Key.Name));
    }

    [Fact]
    public void Credentials_come_from_the_flag_else_the_file_else_the_environment()
    {
        var dir = Directory.CreateTempSubdirectory("etcd-credentials-").FullName;
        var previous = Environment.GetEnvironmentVariable(EtcdStoreOptions.PasswordVariable);
        try
        {
            File.WriteAllText(Path.Combine(dir, "user"), "scheduler\n");
            File.WriteAllText(Path.Combine(dir, "password"), "from-file\n");
            Environment.SetEnvironmentVariable(EtcdStoreOptions.PasswordVariable, "from-env");
            var options = new EtcdStoreOptions { ClientUsernameFile = Path.Combine(dir, "user") };
            Assert.Equal(("scheduler", "from-env"), options.ResolveCredentials());
            options.ClientPasswordFile = Path.Combine(dir, "password");
            Assert.Equal(("scheduler", "from-file"), options.ResolveCredentials());
            options.ClientPassword = "from-flag";
            Assert.Equal(("scheduler", "from-flag"), options.ResolveCredentials());
            options.ClientPasswordFile = Path.Combine(dir, "missing");
            options.ClientPassword = null;
            Assert.Contains("--etcd-client-password-file", Assert.Throws<InvalidOperationException>(() => options.ResolveCredentials()).Message);
        }
        finally
        {
            Environment.SetEnvironmentVariable(EtcdStoreOptions.PasswordVariable, previous);
            Directory.Delete(dir, recursive: true);
        }
    }
}
