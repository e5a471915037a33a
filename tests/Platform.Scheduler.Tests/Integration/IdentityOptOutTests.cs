using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using TestSupport;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>Without its identity the scheduler does not start; only the documented flag runs it open, with a warning.</summary>
public sealed class IdentityOptOutTests
{
    [Fact]
    public async Task Without_an_identity_the_scheduler_refuses_to_start()
    {
        var dataDir = Directory.CreateTempSubdirectory("scheduler-noid-").FullName;
        try
        {
            await using var process = TestProcess.StartDotnet("scheduler-noid", RepoPaths.ProjectOutput("Platform/Scheduler", "Platform.Scheduler"),
                ["--port", FreePort.Next().ToString(), "--healthz-port", FreePort.Next().ToString(), "--data-dir", dataDir]);
            await process.WaitForOutputAsync(l => l.Contains("mTLS needs trust anchors: --trust-anchors-file or DAPR_TRUST_ANCHORS"), TimeSpan.FromSeconds(30));
            Assert.Equal(2, await process.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            Directory.Delete(dataDir, recursive: true);
        }
    }

    [Fact]
    public async Task Tls_enabled_false_serves_plain_clients_and_warns()
    {
        await using var scheduler = await SchedulerProcess.StartAsync(mtls: false);
        await scheduler.Process.WaitForOutputAsync(l => l.Contains("mTLS is OFF (--tls-enabled=false)"), TimeSpan.FromSeconds(10));
        using var channel = GrpcChannel.ForAddress(scheduler.GrpcAddress);
        Assert.StartsWith("http://", scheduler.GrpcAddress);
        var client = new SchedulerProtocol.Scheduler.SchedulerClient(channel);
        await client.ScheduleJobAsync(new ScheduleJobRequest { Name = "by-hand", Metadata = Meta("app1"), Job = new Job { Schedule = "@daily" } });
        Assert.Single((await client.ListJobsAsync(new ListJobsRequest { Metadata = Meta("app1") })).Jobs);
    }
}
