using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using Platform.Security;
using TestSupport;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>
/// Dapr's identity model at the scheduler, on by default: only mTLS clients with a certificate from the trust anchors
/// are served, each only for the namespace and app id its certificate names; the admin API only for the AppHost.
/// </summary>
public sealed class IdentityTests(SharedIdentityScheduler fixture) : IClassFixture<SharedIdentityScheduler>
{
    private SchedulerUnderTest S => fixture.Scheduler;

    [Fact]
    public void The_scheduler_is_configured_by_flags_alone_and_watches_no_settings_file() =>
        // A settings file reloaded on change would put a watcher over the working directory.
        Assert.Equal(0, ProcessProbe.InotifyInstances(S.Process.Process.Id));

    [Fact]
    public async Task A_client_without_a_certificate_is_refused_and_nothing_is_stored()
    {
        var name = "no-cert-" + Guid.NewGuid().ToString("N");
        // Plain h2c to the gRPC port.
        using (var plain = GrpcChannel.ForAddress($"http://127.0.0.1:{S.Process.Port}"))
            await AssertRefusedAsync(new SchedulerProtocol.Scheduler.SchedulerClient(plain), name);
        // TLS that trusts the scheduler but presents no certificate.
        using (var anonymous = GrpcChannel.ForAddress(S.Process.GrpcAddress, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } },
        }))
            await AssertRefusedAsync(new SchedulerProtocol.Scheduler.SchedulerClient(anonymous), name);
        await AssertNotStoredAsync(name);
    }

    [Fact]
    public async Task A_certificate_from_another_authority_is_refused()
    {
        using var other = CertificateAuthority.Create("intruder");
        var issued = other.Issue(TestIdentity.App("app1"));
        using var certificate = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.KeyPem);
        using var channel = GrpcChannel.ForAddress(S.Process.GrpcAddress, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions =
                {
                    ClientCertificates = [certificate],
                    LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
                    RemoteCertificateValidationCallback = (_, _, _, _) => true,
                },
            },
        });
        var name = "intruder-" + Guid.NewGuid().ToString("N");
        await AssertRefusedAsync(new SchedulerProtocol.Scheduler.SchedulerClient(channel), name);
        await AssertNotStoredAsync(name);
    }

    public static TheoryData<string, string> OtherApps => new() { { "app2", "default" }, { "app1", "other-ns" } };

    [Theory]
    [MemberData(nameof(OtherApps))]
    public async Task A_certificate_for_one_app_is_denied_every_call_for_another(string app, string ns)
    {
        var name = "theirs-" + Guid.NewGuid().ToString("N");
        await S.ScheduleAsync(name, schedule: "@daily", app: app, ns: ns);
        var victim = Meta(app, ns);
        var attacker = S.ClientFor("app1");

        await AssertDeniedAsync(attacker.ScheduleJobAsync(new ScheduleJobRequest
        {
            Name = name, Metadata = victim, Overwrite = true, Job = new Job { Schedule = "@every 1s" },
        }).ResponseAsync);
        await AssertDeniedAsync(attacker.GetJobAsync(new GetJobRequest { Name = name, Metadata = victim }).ResponseAsync);
        await AssertDeniedAsync(attacker.ListJobsAsync(new ListJobsRequest { Metadata = victim }).ResponseAsync);
        await AssertDeniedAsync(attacker.DeleteJobAsync(new DeleteJobRequest { Name = name, Metadata = victim }).ResponseAsync);
        await AssertDeniedAsync(attacker.DeleteByNamePrefixAsync(new DeleteByNamePrefixRequest { NamePrefix = "", Metadata = victim }).ResponseAsync);
        using (var watch = attacker.WatchJobs())
        {
            await watch.RequestStream.WriteAsync(new WatchJobsRequest
            {
                Initial = new WatchJobsRequestInitial { AppId = app, Namespace = ns, AcceptJobTypes = { JobTargetType.Job } },
            });
            await AssertDeniedAsync(watch.ResponseStream.MoveNext());
        }

        // Their job is untouched, as its owner sees it.
        var job = (await S.ClientFor(app, ns).GetJobAsync(new GetJobRequest { Name = name, Metadata = victim })).Job;
        Assert.Equal("@daily", job.Schedule);
    }

    [Fact]
    public async Task The_admin_api_is_the_apphosts_alone_and_it_may_read_and_delete_but_not_schedule()
    {
        var name = "admin-" + Guid.NewGuid().ToString("N");
        await S.ScheduleAsync(name, schedule: "@daily", app: "app3");
        await AssertDeniedAsync(new SchedulerAdmin.SchedulerAdminClient(S.ChannelFor("app3")).ListJobStatusesAsync(new ListJobStatusesRequest()).ResponseAsync);

        Assert.Contains(name, (await S.Admin.ListJobStatusesAsync(new ListJobStatusesRequest { AppId = "app3" })).Jobs.Select(j => j.Name));
        var apphost = new SchedulerProtocol.Scheduler.SchedulerClient(S.ChannelAs(SpiffeId.AppHost()));
        await AssertDeniedAsync(apphost.ScheduleJobAsync(new ScheduleJobRequest
        {
            Name = name + "-2", Metadata = Meta("app3"), Job = new Job { Schedule = "@daily" },
        }).ResponseAsync);
        Assert.Equal("@daily", (await apphost.GetJobAsync(new GetJobRequest { Name = name, Metadata = Meta("app3") })).Job.Schedule);
        await apphost.DeleteJobAsync(new DeleteJobRequest { Name = name, Metadata = Meta("app3") });
        Assert.Empty((await S.ClientFor("app3").ListJobsAsync(new ListJobsRequest { Metadata = Meta("app3") })).Jobs);
    }

    private static async Task AssertRefusedAsync(SchedulerProtocol.Scheduler.SchedulerClient client, string name)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => client.ScheduleJobAsync(new ScheduleJobRequest
        {
            Name = name, Metadata = Meta("app1"), Job = new Job { Schedule = "@daily" },
        }, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
        // The handshake fails: the call never reaches the service.
        Assert.Contains(e.StatusCode, new[] { StatusCode.Unavailable, StatusCode.Internal, StatusCode.Unauthenticated });
    }

    private async Task AssertNotStoredAsync(string name) =>
        Assert.DoesNotContain(name, (await S.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta("app1") })).Jobs.Select(j => j.Name));

    private static async Task AssertDeniedAsync(Task call)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => call.WaitAsync(TimeSpan.FromSeconds(20)));
        Assert.Equal(StatusCode.PermissionDenied, e.StatusCode);
        Assert.Equal("identity does not match request", e.Status.Detail);
    }
}

public sealed class SharedIdentityScheduler : IAsyncLifetime
{
    public SchedulerUnderTest Scheduler { get; private set; } = null!;
    public async Task InitializeAsync() => Scheduler = await SchedulerUnderTest.StartAsync();
    public async Task DisposeAsync() => await Scheduler.DisposeAsync();
}
