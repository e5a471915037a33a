using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.SchedulerProtocol;
using TestSupport;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>The process's resource bounds over real gRPC: message size, jobs per app, payload size, and their flags.</summary>
public class LimitsProcessTests
{
    private static ScheduleJobRequest WithData(string name, int bytes, string app = "app1") => new()
    {
        Name = name,
        Metadata = Meta(app),
        Job = new Job { Schedule = "@daily", Data = Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[bytes]) }) },
    };

    [Fact]
    public async Task A_message_over_4_MiB_is_refused_by_default_and_the_bound_is_configurable()
    {
        await using (var s = await StartAsync())
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => s.Client.ScheduleJobAsync(WithData("huge", 5 * 1024 * 1024)).ResponseAsync);
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
            // The process is unharmed and nothing was stored.
            Assert.Empty((await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs);
        }
        await using (var s = await StartAsync("--max-message-size", "1024", "--max-job-data-size", "0"))
        {
            var refused = await Assert.ThrowsAsync<RpcException>(() => s.Client.ScheduleJobAsync(WithData("two-k", 2048)).ResponseAsync);
            Assert.Equal(StatusCode.ResourceExhausted, refused.StatusCode);
        }
    }

    [Fact]
    public async Task Quotas_answer_resource_exhausted_naming_the_limit()
    {
        await using var s = await StartAsync("--max-jobs-per-app", "2", "--max-job-data-size", "1000");
        await s.ScheduleAsync("a", schedule: "@daily");
        await s.ScheduleAsync("b", schedule: "@daily");
        var full = await Assert.ThrowsAsync<RpcException>(() => s.ScheduleAsync("c", schedule: "@daily"));
        Assert.Equal(StatusCode.ResourceExhausted, full.StatusCode);
        Assert.Equal("app 'default||app1' holds 2 jobs, the limit of 2 jobs per app", full.Status.Detail);

        // app2's own client: its certificate must name the app it schedules for, or the call is refused before the quota.
        var big = await Assert.ThrowsAsync<RpcException>(() => s.ClientFor("app2").ScheduleJobAsync(WithData("big", 2000, app: "app2")).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, big.StatusCode);
        Assert.Matches(@"^job data is \d+ bytes, over the limit of 1000 bytes per job$", big.Status.Detail);
        Assert.Equal(["a", "b"], (await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs.Select(j => j.Name));
    }

    [Fact]
    public async Task An_unusable_limit_stops_the_process_at_start_with_a_message()
    {
        var process = await Assert.ThrowsAnyAsync<Exception>(() => SchedulerProcess.StartAsync(extraArgs: ["--max-message-size", "10"], timeout: TimeSpan.FromSeconds(20)));
        Assert.Contains("--max-message-size 10: want at least 1024 bytes", process.Message + process.InnerException?.Message);
    }
}
