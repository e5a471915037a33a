using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Platform.Scheduler.Tests.Integration;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using TestSupport;
using static Platform.Scheduler.Tests.Storage.EtcdAttacker;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// The scheduler does not trust its store blindly. A party holding a valid etcd identity (the scheduler's own client
/// certificate, used by curl as another process) writes records behind its back: a job whose value names another app
/// than its key, a job whose key names no valid job, leadership records of an unknown replica or a wrong address. Jobs
/// are quarantined (visible in the admin view) and never delivered; leadership records are ignored, so firing goes on
/// and sidecars are not sent elsewhere. Each test has its own key prefix on one shared cluster.
/// </summary>
[Collection(EtcdStorageCollection.Name)]
public sealed class EtcdTrustTests(EtcdClusterFixture etcd)
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly string _prefix = "trust-" + Guid.NewGuid().ToString("N")[..8];

    [EtcdFact]
    public async Task Job_records_that_do_not_match_their_key_or_fail_validation_are_quarantined_and_never_delivered()
    {
        var cluster = etcd.Cluster;
        await using var scheduler = await SchedulerUnderTest.StartOnEtcdAsync(cluster, $"--Scheduler:Etcd:KeyPrefix={_prefix}");
        await using var sidecar = await FakeSidecar.ConnectAsync(scheduler, "app1");
        // A real job of app1, whose stored value the forgeries start from.
        await scheduler.ScheduleAsync("template", schedule: "@daily");
        var template = await ReadValueAsync(cluster, $"{_prefix}/jobs/app||default||app1||template");

        // Under another app's key, a value naming app1: the app id used to come from the value, and the job went to app1.
        await PutAsync(cluster, $"{_prefix}/jobs/app||default||other||stolen", Forge(template, "app1", "stolen"));
        // Value and key agree, but no scheduler would store this name ('/' is refused).
        await PutAsync(cluster, $"{_prefix}/jobs/app||default||app1||a/b", Forge(template, "app1", "a/b"));

        var statuses = await Poll.UntilAsync(async () =>
        {
            var all = (await scheduler.Admin.ListJobStatusesAsync(new ListJobStatusesRequest { Namespace = "default" })).Jobs;
            var stolen = all.FirstOrDefault(j => j.Metadata.AppId == "other" && j.Name == "stolen");
            var slash = all.FirstOrDefault(j => j.Metadata.AppId == "app1" && j.Name == "a/b");
            return stolen is { Quarantine.Length: > 0 } && slash is { Quarantine.Length: > 0 } ? all : null;
        }, TimeSpan.FromSeconds(20), "both forged records shown quarantined in the admin view");
        Assert.Contains(statuses, j => j.Name == "stolen" && j.Quarantine.Contains("not the one of its key", StringComparison.Ordinal));
        Assert.Contains(statuses, j => j.Name == "a/b" && j.Quarantine.Contains("names no valid job", StringComparison.Ordinal));
        // No app1 job of that name came into being either.
        Assert.DoesNotContain(statuses, j => j.Metadata.AppId == "app1" && j.Name == "stolen");

        // Everything dispatched to app1 before the barrier has arrived by then: neither forgery among it, ever.
        var received = await sidecar.BarrierAsync(scheduler);
        Assert.DoesNotContain(received, t => t.Name is "stolen" or "a/b");
        Assert.Equal(0, sidecar.DeliveriesOf("stolen") + sidecar.DeliveriesOf("a/b"));
    }

    [EtcdFact]
    public async Task Forged_leadership_records_neither_stop_firing_nor_redirect_a_sidecar()
    {
        var cluster = etcd.Cluster;
        var announced = $"127.0.0.1:{FreePort.Next()}";
        var otherReplica = $"127.0.0.1:{FreePort.Next()}";
        await using var scheduler = await SchedulerUnderTest.StartOnEtcdAsync(cluster, $"--Scheduler:Etcd:KeyPrefix={_prefix}",
            "--id", "replica-0", "--override-broadcast-host-port", announced, "--etcd-replicas", $"replica-0={announced},replica-1={otherReplica}");
        await scheduler.Process.Process.WaitForOutputAsync(l => l.Contains("fires partition 0 of 1", StringComparison.Ordinal), TimeSpan.FromSeconds(30));

        // A replica no one knows, agreeing to 9 (this used to make every replica wait for agreement, firing nothing),
        // and a known replica's id naming an address it does not announce (sidecars would have dialled it). Both under
        // a lease, as a real replica's key is.
        var lease = await GrantLeaseAsync(cluster);
        await PutAsync(cluster, $"{_prefix}/leadership/zz-fake", """{"Total":9,"Uid":1,"Address":"127.0.0.1:1"}""", lease);
        await PutAsync(cluster, $"{_prefix}/leadership/replica-1", """{"Total":2,"Uid":2,"Address":"127.0.0.1:6666"}""", lease);
        foreach (var id in new[] { "zz-fake", "replica-1" })
            await scheduler.Process.Process.WaitForOutputAsync(l => l.Contains($"ignores the leadership record of '{id}'", StringComparison.Ordinal), TimeSpan.FromSeconds(20));

        // Still firing: a job due now reaches the app, and /healthz is 200.
        await using var sidecar = await FakeSidecar.ConnectAsync(scheduler, "app1");
        await scheduler.ScheduleAsync("after-forgery", due: "0s");
        Assert.Equal("after-forgery", (await sidecar.NextAsync(20)).Trigger.Name);
        using (var health = await Http.GetAsync($"http://127.0.0.1:{scheduler.Process.HealthzPort}/healthz"))
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);

        // Sidecars are told to dial this replica's address alone.
        using var call = scheduler.Client.WatchHosts(new WatchHostsRequest());
        Assert.True(await call.ResponseStream.MoveNext(new CancellationTokenSource(TimeSpan.FromSeconds(10)).Token));
        Assert.Equal([announced], call.ResponseStream.Current.Hosts.Select(h => h.Address));
    }

    /// <summary>The stored value under <paramref name="key"/>, read with the valid identity.</summary>
    private static async Task<string> ReadValueAsync(EtcdCluster cluster, string key)
    {
        var result = await CurlAsync(cluster.ClientUrl() + "/v3/kv/range", $"{{\"key\":\"{Base64(key)}\"}}", ValidIdentity(cluster));
        using var json = JsonDocument.Parse(result.Output);
        return Encoding.UTF8.GetString(Convert.FromBase64String(json.RootElement.GetProperty("kvs")[0].GetProperty("value").GetString()!));
    }

    /// <summary>The template's value naming <paramref name="app"/>/<paramref name="name"/>, firing every second from now.</summary>
    private static string Forge(string template, string app, string name)
    {
        var node = JsonNode.Parse(template)!.AsObject();
        node["AppId"] = app;
        node["Name"] = name;
        node["Schedule"] = "@every 1s";
        node["PartitionId"] = 1;
        return node.ToJsonString();
    }
}
