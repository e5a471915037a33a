using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Scheduler.Tests.Engine;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using Platform.SchedulerProtocol.Common;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>Issue 10, item 5, on the real process: no job, submitted or stored, stops the scheduler.</summary>
public class HardeningProcessTests
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    private static async Task<int> HealthzAsync(SchedulerUnderTest s)
    {
        using var response = await Http.GetAsync($"http://127.0.0.1:{s.Process.HealthzPort}/healthz");
        return (int)response.StatusCode;
    }

    [Fact]
    public async Task Far_future_jobs_are_accepted_and_a_one_second_job_still_fires()
    {
        await using var s = await StartAsync();
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "app1");
        // Each of these used to throw from the system timer (> 49.7 days) and end the dispatch loop.
        await s.ScheduleAsync("far", due: "1300h");
        await s.ScheduleAsync("years", due: DateTimeOffset.UtcNow.AddYears(5).ToString("yyyy-MM-ddTHH:mm:ssZ"));
        await s.ScheduleAsync("end-of-time", due: "9999-12-31T23:59:59Z");
        await s.ScheduleAsync("yearly", schedule: "@every 8760h");
        await s.ScheduleAsync("fast", due: "1s");

        var (trigger, _, _) = await sidecar.NextAsync(15);
        Assert.Equal("fast", trigger.Name);
        Assert.Equal(200, await HealthzAsync(s));
        var names = (await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs.Select(j => j.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "far", "years", "end-of-time", "yearly" }, names);

        // Still dispatching after the first pass that saw them all.
        await s.ScheduleAsync("fast-2", schedule: "@every 1s", repeats: 2);
        Assert.Equal("fast-2", (await sidecar.NextAsync(15)).Trigger.Name);
        Assert.Equal("fast-2", (await sidecar.NextAsync(15)).Trigger.Name);
    }

    [Theory]
    [InlineData(1L, -1, "job failed validation: invalid failure policy interval: duration (seconds:1 nanos:-1) has seconds and nanos with different signs")]
    [InlineData(0L, 1_000_000_000, "job failed validation: invalid failure policy interval: duration (nanos:1000000000) has out-of-range nanos")]
    [InlineData(315_576_000_001L, 0, "job failed validation: invalid failure policy interval: duration (seconds:315576000001) exceeds +10000 years")]
    [InlineData(-315_576_000_001L, 0, "job failed validation: invalid failure policy interval: duration (seconds:-315576000001) exceeds -10000 years")]
    [InlineData(-1L, 0, "job failed validation: invalid failure policy interval: duration (seconds:-1) is negative")]
    [InlineData(0L, -5, "job failed validation: invalid failure policy interval: duration (nanos:-5) is negative")]
    public async Task Bad_durations_are_refused_with_invalid_argument_and_never_stored(long seconds, int nanos, string message)
    {
        await using var s = await StartAsync();
        var policy = new JobFailurePolicy { Constant = new JobFailurePolicyConstant { Interval = new Duration { Seconds = seconds, Nanos = nanos } } };
        var e = await Assert.ThrowsAsync<RpcException>(() => s.ScheduleAsync("bad", schedule: "@every 1s", policy: policy));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
        Assert.Equal(message, e.Status.Detail);
        Assert.Empty((await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs);

        // Nothing stored means nothing to crash on: a restart comes up healthy.
        Assert.Equal(0, await s.Process.StopAsync());
        await s.RestartAsync();
        Assert.Equal(200, await HealthzAsync(s));
        Assert.Empty((await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs);
    }

    [Fact]
    public async Task Bad_stored_rows_are_quarantined_while_the_scheduler_starts_and_serves_the_others()
    {
        await using var s = await StartAsync();
        // No sidecar yet: the jobs are staged, nothing is counted.
        foreach (var name in new[] { "good", "bad-policy", "bad-schedule", "bad-column", "bad-data" })
            await s.ScheduleAsync(name, schedule: "@every 1s", repeats: 2);
        Assert.Equal(0, await s.Process.StopAsync());
        HardeningTests.WriteBadRows(Path.Combine(s.Process.DataDir, "scheduler.db"));

        // Used to crash-loop on start (the non-normalised Duration); RestartAsync waits for /healthz 200.
        await s.RestartAsync();
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "app1");
        for (var i = 0; i < 2; i++)
        {
            try { Assert.Equal("good", (await sidecar.NextAsync(15)).Trigger.Name); }
            catch (TimeoutException) { Assert.Fail("good did not fire; scheduler output:" + Environment.NewLine + string.Join(Environment.NewLine, s.Process.Process.Output.TakeLast(40))); }
        }
        Assert.Equal(200, await HealthzAsync(s));

        // Triggers of one app are sent in dispatch order: bad-data's first tick was handled before good's second.
        var statuses = (await s.Admin.ListJobStatusesAsync(new ListJobStatusesRequest { AppId = "app1" }))
            .Jobs.ToDictionary(j => j.Name);
        Assert.StartsWith("quarantined: install failed: invalid failure policy interval: duration (seconds:1 nanos:-1)", statuses["bad-policy"].LastResult);
        Assert.StartsWith("quarantined: install failed: unparsable schedule: ", statuses["bad-schedule"].LastResult);
        Assert.StartsWith("quarantined: install failed: unreadable stored row: ", statuses["bad-column"].LastResult);
        Assert.StartsWith("quarantined: fire failed: stored data does not parse", statuses["bad-data"].LastResult);
        Assert.All(statuses.Values.Where(j => j.Name.StartsWith("bad-", StringComparison.Ordinal)), j => Assert.Null(j.NextDue));
        Assert.Equal(0, sidecar.DeliveriesOf("bad-data"));

        // ListJobs still answers for the app, bad rows included.
        var listed = (await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs.Select(j => j.Name).ToList();
        Assert.Contains("bad-data", listed);
        Assert.Contains("bad-column", listed);
    }
}
