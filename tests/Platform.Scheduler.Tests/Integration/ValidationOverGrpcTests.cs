using Grpc.Core;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>One scheduler process for the whole table: every row is rejected, so nothing is stored.</summary>
public sealed class SharedScheduler : IAsyncLifetime
{
    public SchedulerUnderTest Scheduler { get; private set; } = null!;
    public async Task InitializeAsync() => Scheduler = await SchedulerUnderTest.StartAsync();
    public async Task DisposeAsync() => await Scheduler.DisposeAsync();
}

public class ValidationOverGrpcTests(SharedScheduler fixture) : IClassFixture<SharedScheduler>
{
    public static TheoryData<string?, uint?, string?, string?, string> Rejections => new()
    {
        { "* * * * *", null, null, null, "job failed validation: expected exactly 6 fields, found 5: [* * * * *]" },
        { "R5/PT1M", null, null, null, "job failed validation: expected exactly 6 fields, found 1: [R5/PT1M]" },
        { "CRON_TZ=Not/AZone 0 0 9 * * *", null, null, null, "job failed validation: provided bad location Not/AZone: unknown time zone Not/AZone" },
        { null, 2u, "1s", null, "job failed validation: job must have a schedule to repeat" },
        { null, null, "1s", "5s", "job failed validation: job must have a schedule to have a ttl" },
        { "@daily", 0u, null, null, "job failed validation: defined repeats must be greater than 0" },
        { null, null, "abc", null, "job failed validation: due time format not recognized" },
        { null, null, "R2/PT1S", null, "job failed validation: repeats not supported for due time" },
        { "@daily", null, null, "abc", "job failed validation: ttl format not recognized" },
        { "@daily", null, "10s", "2020-01-01T00:00:00Z", "job failed validation: ttl must be greater than due time" },
    };

    [Theory]
    [MemberData(nameof(Rejections))]
    public async Task Invalid_jobs_are_unknown_with_the_engine_text(string? schedule, uint? repeats, string? due, string? ttl, string message)
    {
        var e = await Assert.ThrowsAsync<RpcException>(() => fixture.Scheduler.ScheduleAsync("bad", schedule, repeats, due, ttl));
        Assert.Equal(StatusCode.Unknown, e.StatusCode);
        Assert.Equal(message, e.Status.Detail);
    }
}
