using System.Net;
using Platform.SchedulerProtocol;
using TestSupport;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>The real scheduler process with its jobs on a real 3-member etcd cluster (Dapr's <c>--etcd-embed=false</c>).</summary>
public class EtcdSchedulerTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static async Task<(HttpStatusCode Status, string Body)> HealthAsync(SchedulerUnderTest s)
    {
        using var response = await Http.GetAsync($"http://127.0.0.1:{s.Process.HealthzPort}/healthz");
        return (response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>Reads triggers until every job has <paramref name="ticks"/> distinct acknowledged ticks; returns them per job.</summary>
    private static async Task<Dictionary<string, HashSet<DateTime>>> CollectAsync(FakeSidecar sidecar, IEnumerable<string> jobs, int ticks,
        double seconds, Dictionary<string, HashSet<DateTime>>? into = null)
    {
        var names = jobs.ToList();
        var acked = into ?? names.ToDictionary(j => j, _ => new HashSet<DateTime>());
        var deadline = DateTime.UtcNow.AddSeconds(seconds);
        while (names.Any(j => acked[j].Count < ticks))
        {
            var (trigger, success, _) = await sidecar.NextAsync(Math.Max(0.1, (deadline - DateTime.UtcNow).TotalSeconds));
            Assert.True(success);
            acked[trigger.Name].Add(trigger.ScheduledTime.ToDateTime());
        }
        return acked;
    }

    [EtcdFact]
    public async Task Jobs_scheduled_on_etcd_fire_through_the_stream_and_nothing_is_kept_in_the_data_directory()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        await using var s = await StartOnEtcdAsync(etcd);
        Assert.Contains(s.Process.Process.Output, l => l.Contains("Job store on the etcd cluster at", StringComparison.Ordinal));
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "etcd-app");
        string[] jobs = ["a", "b", "c"];
        foreach (var j in jobs) await s.ScheduleAsync(j, schedule: "@every 1s", repeats: 3, app: "etcd-app");
        Assert.Equal(jobs, (await s.ClientFor("etcd-app").ListJobsAsync(new ListJobsRequest { Metadata = Meta("etcd-app") })).Jobs.Select(j => j.Name));

        var acked = await CollectAsync(sidecar, jobs, 3, 30);
        await s.WaitForNoJobsAsync("etcd-app");
        foreach (var late in await sidecar.BarrierAsync(s)) acked[late.Name].Add(late.ScheduledTime.ToDateTime());
        Assert.All(acked.Values, ticks => Assert.Equal(3, ticks.Count));
        // The store is etcd: the embedded SQLite file was never created.
        Assert.False(File.Exists(Path.Combine(s.Process.DataDir, "scheduler.db")));
    }

    [EtcdFact]
    public async Task Kill_during_recurring_jobs_then_restart_on_etcd_counts_every_tick_exactly_once()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        await using var s = await StartOnEtcdAsync(etcd);
        await CrashTests.KillDuringRecurringJobsThenRestartAsync(s);
    }

    [EtcdFact]
    public async Task One_etcd_member_killed_the_scheduler_carries_on_with_exact_counts()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        await using var s = await StartOnEtcdAsync(etcd);
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "member-app");
        string[] jobs = ["m1", "m2", "m3"];
        foreach (var j in jobs) await s.ScheduleAsync(j, schedule: "@every 1s", repeats: 6, app: "member-app");
        var acked = await CollectAsync(sidecar, jobs, 1, 30);

        await etcd.KillMemberAsync(0);
        // Writes and reads still reach the two members left (a quorum): a new job is taken and every count completes.
        await s.ScheduleAsync("after-kill", due: "0s", app: "member-app");
        acked["after-kill"] = [];
        try
        {
            await CollectAsync(sidecar, ["after-kill"], 1, 30, acked);
            await CollectAsync(sidecar, jobs, 6, 60, acked);
        }
        catch (TimeoutException e)
        {
            throw new Xunit.Sdk.XunitException($"{e.Message} ({string.Join(", ", acked.Select(a => $"{a.Key}={a.Value.Count}"))}); scheduler output:{Environment.NewLine}" +
                string.Join(Environment.NewLine, s.Process.Process.Output.TakeLast(60)));
        }
        await s.WaitForNoJobsAsync("member-app", 30);
        foreach (var late in await sidecar.BarrierAsync(s, 30)) acked[late.Name].Add(late.ScheduledTime.ToDateTime());
        Assert.All(jobs, j => Assert.Equal(6, acked[j].Count));
        Assert.Single(acked["after-kill"]);
        var health = await HealthAsync(s);
        Assert.True(health.Status == HttpStatusCode.OK, $"/healthz {(int)health.Status} with two of three members: {health.Body}; scheduler output:{Environment.NewLine}" +
            string.Join(Environment.NewLine, s.Process.Process.Output.TakeLast(40)));
    }

    [EtcdFact]
    public async Task Lost_quorum_makes_healthz_unhealthy_with_the_reason_and_jobs_go_on_when_it_returns()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        await using var s = await StartOnEtcdAsync(etcd);
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "quorum-app");
        await s.ScheduleAsync("q", schedule: "@every 1s", repeats: 4, app: "quorum-app");
        var acked = await CollectAsync(sidecar, ["q"], 1, 30);

        await etcd.KillMemberAsync(1);
        await etcd.KillMemberAsync(2);
        // The replica lets go of its jobs too once its lease cannot be renewed; the store's own reason is what this checks.
        var unhealthy = await Poll.UntilAsync(async () =>
                await HealthAsync(s) is { Status: HttpStatusCode.ServiceUnavailable } h && h.Body.Contains("job store unavailable", StringComparison.Ordinal) ? h.Body : null,
            TimeSpan.FromSeconds(30), "/healthz reporting the lost quorum");
        Assert.Contains(etcd.ClientEndpoints.Split(',')[0], unhealthy);

        await etcd.RestartMemberAsync(1);
        await etcd.RestartMemberAsync(2);
        await Poll.UntilAsync(async () => (await HealthAsync(s)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "/healthz healthy again");
        await CollectAsync(sidecar, ["q"], 4, 60, acked);
        await s.WaitForNoJobsAsync("quorum-app", 30);
        foreach (var late in await sidecar.BarrierAsync(s, 30)) acked[late.Name].Add(late.ScheduledTime.ToDateTime());
        Assert.Equal(4, acked["q"].Count);
    }

    [EtcdFact]
    public async Task An_unreachable_cluster_stops_start_up_with_a_clear_message()
    {
        var nothing = FreePort.Next();
        await using var scheduler = TestProcess.StartDotnet("scheduler", RepoPaths.ProjectOutput("Platform/Scheduler", "Platform.Scheduler"),
            ["--port", FreePort.Next().ToString(), "--healthz-port", FreePort.Next().ToString(), "--etcd-embed=false", $"--etcd-client-endpoints=127.0.0.1:{nothing}",
                .. TestIdentity.Files(Platform.Security.SpiffeId.Scheduler()).Flags()],
            new Dictionary<string, string?> { ["Scheduler__Etcd__ConnectTimeout"] = "00:00:02" });
        Assert.NotEqual(0, await scheduler.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains(scheduler.Output, l => l.Contains($"The etcd cluster at 127.0.0.1:{nothing} did not answer within 2 s", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Etcd_without_endpoints_is_refused_naming_the_flag()
    {
        var e = await Assert.ThrowsAsync<InvalidOperationException>(() => SchedulerProcess.StartAsync(extraArgs: ["--etcd-embed=false"]));
        Assert.Contains("--etcd-client-endpoints", e.Message);
    }
}
