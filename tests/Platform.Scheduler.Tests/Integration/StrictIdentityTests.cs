using Grpc.Core;
using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using Platform.Security;
using TestSupport;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>
/// The scheduler serves an app's jobs only to a certificate that is exactly that app's client identity: one URI name,
/// spiffe://&lt;apps' trust domain&gt;/ns/&lt;namespace&gt;/&lt;app id&gt; with nothing after it, with the client-auth key
/// usage. Every certificate here chains to the scheduler's anchors (a custom authority's). The apps' trust domain is
/// the one given (--app-trust-domains example.org), so Dapr's default "public" is another one here.
/// </summary>
public sealed class StrictIdentityTests(StrictIdentityTests.CustomScheduler fixture) : IClassFixture<StrictIdentityTests.CustomScheduler>
{
    public sealed class CustomScheduler : IAsyncLifetime
    {
        public CustomAuthority Authority { get; } = new("strict-scheduler");
        public SchedulerProcess Process { get; private set; } = null!;

        public async Task InitializeAsync() =>
            // The authority's files come after the default ones: the last value of a flag wins.
            Process = await SchedulerProcess.StartAsync(extraArgs: [.. Authority.Files(SpiffeId.Scheduler()).Flags(), "--app-trust-domains", "example.org"]);

        public async Task DisposeAsync()
        {
            if (Process is not null) await Process.DisposeAsync();
            Authority.Dispose();
        }
    }

    public static TheoryData<string, string[], KeyPurpose[]> Refused => new()
    {
        { "another trust domain", ["spiffe://evil.example/ns/default/backupworker"], [KeyPurpose.ClientAuth] },
        { "dapr's default trust domain, not the one given", ["spiffe://public/ns/default/backupworker"], [KeyPurpose.ClientAuth] },
        { "an extra path segment", ["spiffe://example.org/ns/default/backupworker/anything"], [KeyPurpose.ClientAuth] },
        { "server-auth only", ["spiffe://example.org/ns/default/backupworker"], [KeyPurpose.ServerAuth] },
        { "no extended key usage", ["spiffe://example.org/ns/default/backupworker"], [] },
        { "a second URI name", ["spiffe://example.org/ns/default/backupworker", "https://example.com/x"], [KeyPurpose.ClientAuth] },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task A_certificate_that_is_not_exactly_the_apps_client_identity_gets_none_of_its_jobs(string what, string[] uris, KeyPurpose[] purposes)
    {
        var name = "strict-" + Guid.NewGuid().ToString("N");
        await ClientAs(["spiffe://example.org/ns/default/backupworker"], KeyPurpose.ClientAuth).ScheduleJobAsync(new ScheduleJobRequest
        {
            Name = name, Metadata = Meta("backupworker"), Job = new Job { Schedule = "@daily" },
        });

        var suspect = ClientAs(uris, purposes);
        var listed = await Assert.ThrowsAsync<RpcException>(() =>
            suspect.ListJobsAsync(new ListJobsRequest { Metadata = Meta("backupworker") }, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
        Assert.True(listed.StatusCode is StatusCode.PermissionDenied or StatusCode.Unavailable or StatusCode.Internal, $"{what}: {listed.Status}");
        var deleted = await Assert.ThrowsAsync<RpcException>(() =>
            suspect.DeleteJobAsync(new DeleteJobRequest { Name = name, Metadata = Meta("backupworker") }, deadline: DateTime.UtcNow.AddSeconds(20)).ResponseAsync);
        Assert.True(deleted.StatusCode is StatusCode.PermissionDenied or StatusCode.Unavailable or StatusCode.Internal, $"{what}: {deleted.Status}");

        // The job is still there for its owner.
        var owner = ClientAs(["spiffe://example.org/ns/default/backupworker"], KeyPurpose.ClientAuth);
        Assert.Equal("@daily", (await owner.GetJobAsync(new GetJobRequest { Name = name, Metadata = Meta("backupworker") })).Job.Schedule);
    }

    private SchedulerProtocol.Scheduler.SchedulerClient ClientAs(string[] uris, params KeyPurpose[] purposes)
    {
        var certificate = fixture.Authority.Issue(uris, purposes);
        var channel = GrpcChannel.ForAddress(fixture.Process.GrpcAddress, new GrpcChannelOptions { HttpHandler = CustomAuthority.ClientHandler(certificate) });
        return new SchedulerProtocol.Scheduler.SchedulerClient(channel);
    }
}
