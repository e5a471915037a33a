using Google.Protobuf.WellKnownTypes;
using Platform.SchedulerProtocol;
using Platform.Sidecar.AppChannel;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// The tick's scheduled time from the WatchJobs stream reaches the app with the trigger (our extension header
/// <c>dapr-job-scheduled-time</c>, gRPC metadata of the same name), so an app can tell a redelivered tick from a new one.
/// </summary>
public sealed class ScheduledTimeDeliveryTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(15);

    // Nanoseconds the stream may carry; a DateTimeOffset keeps 100 ns, so seven fractional digits arrive.
    private static readonly Timestamp Tick = new() { Seconds = DateTimeOffset.Parse("2026-12-06T21:00:00Z").ToUnixTimeSeconds(), Nanos = 123_456_789 };
    private const string TickText = "2026-12-06T21:00:00.1234567Z";

    [Fact]
    public async Task Http_delivery_carries_the_streams_scheduled_time_as_a_header_and_none_without_it()
    {
        var fake = new FakeScheduler();
        await using var _ = fake;
        await fake.StartAsync();
        await using var app = await HttpTestApp.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("tick-http")
        {
            AppPort = app.Port,
            SchedulerHostAddress = $"127.0.0.1:{fake.Port}",
        });
        await fake.Initials.NextAsync(Wait, "initial");

        fake.Trigger(new WatchJobsResponse { Id = 1, Name = "ticked", ScheduledTime = Tick });
        var ticked = await app.Jobs.NextAsync(Wait, "delivery with a scheduled time");
        fake.Trigger(new WatchJobsResponse { Id = 2, Name = "unticked" });
        var unticked = await app.Jobs.NextAsync(Wait, "delivery without a scheduled time");

        Assert.Equal("/job/ticked", ticked.Path);
        Assert.Equal(TickText, ticked.Headers[JobTrigger.ScheduledTimeHeader]);
        Assert.Equal("/job/unticked", unticked.Path);
        Assert.False(unticked.Headers.ContainsKey(JobTrigger.ScheduledTimeHeader));
    }

    [Fact]
    public async Task Grpc_delivery_carries_the_streams_scheduled_time_as_metadata_and_none_without_it()
    {
        var fake = new FakeScheduler();
        await using var _ = fake;
        await fake.StartAsync();
        await using var app = await GrpcTestApp.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("tick-grpc")
        {
            AppPort = app.Port,
            AppProtocol = "grpc",
            SchedulerHostAddress = $"127.0.0.1:{fake.Port}",
        });
        await fake.Initials.NextAsync(Wait, "initial");

        fake.Trigger(new WatchJobsResponse { Id = 1, Name = "ticked", ScheduledTime = Tick });
        var ticked = await app.Jobs.NextAsync(Wait, "job event with a scheduled time");
        fake.Trigger(new WatchJobsResponse { Id = 2, Name = "unticked" });
        var unticked = await app.Jobs.NextAsync(Wait, "job event without a scheduled time");

        Assert.Equal("ticked", ticked.Request.Name);
        Assert.Equal(TickText, ticked.Headers[JobTrigger.ScheduledTimeHeader]);
        Assert.Equal("unticked", unticked.Request.Name);
        Assert.False(unticked.Headers.ContainsKey(JobTrigger.ScheduledTimeHeader));
    }

    [Fact]
    public void The_header_value_is_rfc3339_utc_with_fractional_seconds()
    {
        var local = new DateTimeOffset(2026, 12, 6, 22, 0, 0, TimeSpan.FromHours(1));
        Assert.Equal("2026-12-06T21:00:00.0000000Z", new JobTrigger("j", null, local).ScheduledTimeText);
        Assert.Null(new JobTrigger("j", null).ScheduledTimeText);
    }
}
