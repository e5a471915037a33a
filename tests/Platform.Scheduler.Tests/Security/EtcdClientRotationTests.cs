using System.Net;
using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using Platform.Scheduler.Tests.Integration;
using Platform.Security;
using TestSupport;

namespace Platform.Scheduler.Tests.Security;

/// <summary>
/// A scheduler on a locked etcd member whose client certificate comes from the Sentry and lives 4 s: it is renewed
/// several times while jobs are written and fired through etcd's watch, the member's certificate file is replaced
/// under it, a member restart makes it connect anew with its current certificate, and once the Sentry is gone and the
/// certificate lapses /healthz turns 503 saying why. The scheduler logs no refused TLS handshake.
/// </summary>
public sealed class EtcdClientRotationTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private const string AppId = "rotation-app";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };
    private static readonly string EtcdClientId = Platform.Security.Renewal.EtcdClientIdentity.For(SpiffeId.Scheduler()).ToString();
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();

    private void Mark(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:F1}s {what}");

    [EtcdFact]
    public async Task The_etcd_client_certificate_from_the_Sentry_renews_without_losing_a_write_or_a_trigger_and_its_expiry_turns_health_red()
    {
        await using var cluster = await EtcdRotationCluster.StartAsync("4s", AppId);
        Mark("etcd and sentry up");
        SchedulerProcess started;
        try
        {
            started = await SchedulerProcess.StartAsync(extraArgs: cluster.SchedulerArgs,
                environment: new Dictionary<string, string?> { ["DAPR_SENTRY_TOKEN"] = cluster.SentryToken });
        }
        catch
        {
            foreach (var line in cluster.Etcd.Output.TakeLast(20)) output.WriteLine("etcd: " + line);
            throw;
        }
        await using var scheduler = started;
        Mark("scheduler up");
        using var channel = GrpcChannel.ForAddress(scheduler.GrpcAddress, new GrpcChannelOptions { HttpHandler = TestIdentity.SchedulerClientHandler(TestIdentity.App(AppId)) });
        var client = new SchedulerProtocol.Scheduler.SchedulerClient(channel);
        await using var sidecar = await FakeSidecar.ConnectAsync(channel, AppId);
        await FireAsync(client, sidecar, "before");

        // Two renewals: the first certificate has expired by then.
        await Poll.UntilAsync(() => Task.FromResult(Renewals(scheduler.Process) >= 2), TimeSpan.FromSeconds(30), "two renewals of the etcd client certificate");
        Mark("renewed twice");
        await FireAsync(client, sidecar, "after-renewals");

        // The member's file replaced in place: the next handshake gets the new certificate, the open connection stays.
        var served = await cluster.ServedSerialAsync();
        cluster.ReplaceMemberCertificate(TimeSpan.FromHours(1));
        Assert.NotEqual(served, await cluster.ServedSerialAsync());
        await FireAsync(client, sidecar, "after-member-rotation");
        Mark("member certificate replaced");

        // A new connection to a restarted member handshakes with the renewed client certificate (the first one lapsed).
        await cluster.RestartEtcdAsync();
        await Poll.UntilAsync(async () => (await HealthAsync(scheduler)).Status == HttpStatusCode.OK, TimeSpan.FromSeconds(30), "healthy after the member restart");
        await FireAsync(client, sidecar, "after-reconnect");
        Mark("reconnected");
        // A refused handshake shows on the client's side (etcd does not log it): an SSL error, a failed renewal.
        Assert.DoesNotContain(scheduler.Process.Output, l => l.Contains("Renewing the certificate", StringComparison.Ordinal)
            || l.Contains("SSL", StringComparison.Ordinal) || l.Contains("handshake", StringComparison.OrdinalIgnoreCase)
            || l.Contains("AuthenticationException", StringComparison.Ordinal));

        // No Sentry, no renewal: once the certificate lapses, /healthz says so.
        await cluster.Sentry.KillAsync();
        var (status, body) = await Poll.UntilAsync(async () =>
        {
            var health = await HealthAsync(scheduler);
            return health.Body.Contains(EtcdClientId + " expired", StringComparison.Ordinal) ? health : ((HttpStatusCode, string)?)null;
        }, TimeSpan.FromSeconds(30), "/healthz naming the expired etcd client certificate");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        Assert.Contains("renewal failing", body, StringComparison.Ordinal);
        Mark("expired: " + body);
    }

    private static int Renewals(TestProcess process) =>
        process.Output.Count(l => l.Contains("Renewed the certificate of " + EtcdClientId, StringComparison.Ordinal));

    /// <summary>A job due now is written to etcd and comes back through the store's watch as a trigger.</summary>
    private static async Task FireAsync(SchedulerProtocol.Scheduler.SchedulerClient client, FakeSidecar sidecar, string name)
    {
        await client.ScheduleJobAsync(new ScheduleJobRequest
        {
            Name = name,
            Job = new Job { DueTime = "0s" },
            Metadata = new JobMetadata { AppId = AppId, Namespace = "default", Target = new JobTargetMetadata { Job = new TargetJob() } },
        }, deadline: DateTime.UtcNow.AddSeconds(30));
        var (trigger, success, _) = await sidecar.NextAsync(30);
        Assert.Equal(name, trigger.Name);
        Assert.True(success);
    }

    private static async Task<(HttpStatusCode Status, string Body)> HealthAsync(SchedulerProcess scheduler)
    {
        try
        {
            using var response = await Http.GetAsync($"http://127.0.0.1:{scheduler.HealthzPort}/healthz");
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
        catch (HttpRequestException e)
        {
            return (HttpStatusCode.ServiceUnavailable, e.Message);
        }
    }
}
