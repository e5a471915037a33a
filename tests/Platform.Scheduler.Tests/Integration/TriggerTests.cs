using Google.Protobuf.WellKnownTypes;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using Platform.SchedulerProtocol.Common;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>Triggers from the real process to fake sidecars over WatchJobs (spec §7 cases 26–29, 38–46).</summary>
public class TriggerTests
{
    // Generous on a 2-core CI machine; the benchmark measures real lateness.
    private static readonly TimeSpan Late = TimeSpan.FromSeconds(1.5);

    [Fact]
    public async Task Recurring_triggers_arrive_on_time_with_trace_context_and_stop_at_repeats()
    {
        await using var s = await StartAsync();
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "app1");
        var data = Any.Pack(new StringValue { Value = "payload" });
        var requested = DateTime.UtcNow;
        await s.Client.ScheduleJobAsync(new ScheduleJobRequest
        {
            Name = "tick", Metadata = Meta(),
            Job = new Job { Schedule = "@every 1s", Repeats = 3, DueTime = "0s", Data = data },
        });
        var ticks = new List<DateTime>();
        for (var i = 0; i < 3; i++)
        {
            var (t, _, at) = await sidecar.NextAsync();
            Assert.Equal("tick", t.Name);
            Assert.Equal("app1", t.Metadata.AppId);
            Assert.Equal("default", t.Metadata.Namespace);
            Assert.Equal(data, t.Data);
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", t.TraceContext["traceparent"]);
            var scheduled = t.ScheduledTime.ToDateTime();
            ticks.Add(scheduled);
            Assert.True(at.UtcDateTime >= scheduled, "a trigger arrived before its scheduled time");
            // The first tick is the creation second (Dapr truncates it), which can precede the request itself.
            var due = scheduled > requested ? scheduled : requested;
            Assert.InRange(at.UtcDateTime - due, TimeSpan.Zero - TimeSpan.FromMilliseconds(1), Late);
        }
        Assert.Equal(TimeSpan.FromSeconds(1), ticks[1] - ticks[0]);
        Assert.Equal(TimeSpan.FromSeconds(1), ticks[2] - ticks[1]);
        // Done: the job is gone, and no fourth trigger was sent before it went.
        await s.WaitForNoJobsAsync();
        Assert.Empty(await sidecar.BarrierAsync(s));
    }

    [Fact]
    public async Task Sub_second_every_keeps_its_spacing()
    {
        await using var s = await StartAsync();
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "app1");
        await s.ScheduleAsync("fast", schedule: "@every 100ms", repeats: 5);
        var scheduled = new List<DateTime>();
        for (var i = 0; i < 5; i++) scheduled.Add((await sidecar.NextAsync()).Trigger.ScheduledTime.ToDateTime());
        for (var i = 1; i < 5; i++) Assert.Equal(TimeSpan.FromMilliseconds(100), scheduled[i] - scheduled[i - 1]);
        await s.WaitForNoJobsAsync();
        Assert.Empty(await sidecar.BarrierAsync(s));
    }

    [Fact]
    public async Task Always_failing_job_without_policy_is_delivered_four_times()
    {
        await using var s = await StartAsync();
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "app1", (_, _) => false);
        await s.ScheduleAsync("allfail", due: "0s");
        var first = await sidecar.NextAsync();
        for (var i = 1; i < 4; i++)
        {
            var retry = await sidecar.NextAsync();
            Assert.Equal(first.Trigger.ScheduledTime, retry.Trigger.ScheduledTime);
        }
        // Retries used up: the one-shot is deleted, with no fifth delivery before that.
        await s.WaitForNoJobsAsync();
        Assert.Empty(await sidecar.BarrierAsync(s));
        Assert.Equal(4, sidecar.DeliveriesOf("allfail"));
    }

    [Fact]
    public async Task Failing_twice_then_succeeding_is_delivered_three_times()
    {
        await using var s = await StartAsync();
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "app1", (_, n) => n > 2);
        await s.ScheduleAsync("failsecond", due: "0s");
        for (var i = 0; i < 3; i++) await sidecar.NextAsync();
        await s.WaitForNoJobsAsync();
        Assert.Empty(await sidecar.BarrierAsync(s));
        Assert.Equal(3, sidecar.DeliveriesOf("failsecond"));
    }

    [Fact]
    public async Task Constant_interval_spaces_retries()
    {
        await using var s = await StartAsync();
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "app1", (_, _) => false);
        await s.ScheduleAsync("interval", due: "0s", policy: new JobFailurePolicy
        {
            Constant = new JobFailurePolicyConstant { Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(3)) },
        });
        var first = await sidecar.NextAsync();
        var second = await sidecar.NextAsync(8);
        // Retry k is due at tick + k × interval (the tick being the creation second, as Dapr truncates it):
        // never before that, and nothing in between.
        var retryDue = first.Trigger.ScheduledTime.ToDateTimeOffset().AddSeconds(3);
        Assert.InRange(second.At, retryDue.AddMilliseconds(-20), retryDue.AddSeconds(3));
        // Spaced from the first delivery too, when that one came on time (on a loaded machine it may come late, and
        // the retry, due by the tick, rightly follows sooner).
        if (first.At - first.Trigger.ScheduledTime.ToDateTimeOffset() < TimeSpan.FromSeconds(1))
            Assert.True(second.At - first.At > TimeSpan.FromSeconds(1), "the retry came too soon after the first delivery");
    }

    [Fact]
    public async Task Max_retries_four_is_five_deliveries_and_drop_is_one()
    {
        await using var s = await StartAsync();
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "app1", (_, _) => false);
        await s.ScheduleAsync("max4", due: "0s", policy: new JobFailurePolicy { Constant = new JobFailurePolicyConstant { MaxRetries = 4 } });
        await s.ScheduleAsync("drop", due: "0s", policy: new JobFailurePolicy { Drop = new JobFailurePolicyDrop() });
        for (var i = 0; i < 6; i++) await sidecar.NextAsync();
        await s.WaitForNoJobsAsync();
        Assert.Empty(await sidecar.BarrierAsync(s));
        Assert.Equal(5, sidecar.DeliveriesOf("max4"));
        Assert.Equal(1, sidecar.DeliveriesOf("drop"));
    }

    [Fact]
    public async Task Apps_only_receive_their_own_jobs()
    {
        await using var s = await StartAsync();
        await using var one = await FakeSidecar.ConnectAsync(s, "app1");
        await using var two = await FakeSidecar.ConnectAsync(s, "app2");
        await using var otherNs = await FakeSidecar.ConnectAsync(s, "app1", @namespace: "other");
        await s.ScheduleAsync("mine", due: "0s", app: "app1");
        var (t, _, _) = await one.NextAsync();
        Assert.Equal("mine", t.Name);
        // "mine" has been dispatched; a copy sent to another app's stream would have arrived before its barrier.
        Assert.Empty(await two.BarrierAsync(s));
        Assert.Empty(await otherNs.BarrierAsync(s));
    }

    [Fact]
    public async Task Job_for_an_app_with_no_sidecar_is_staged_then_delivered_when_one_connects()
    {
        await using var s = await StartAsync();
        await s.ScheduleAsync("staged", due: "0s", app: "later");
        await using var unrelated = await FakeSidecar.ConnectAsync(s, "someone-else");
        // The barrier is due after "staged", so the loop has handled "staged" before it: not sent to the wrong app ...
        Assert.Empty(await unrelated.BarrierAsync(s));
        // ... still stored, not counted, not failed ...
        var admin = s.Admin;
        var status = Assert.Single((await admin.ListJobStatusesAsync(new ListJobStatusesRequest { AppId = "later" })).Jobs);
        Assert.Equal(("staged", 0u, 0u, "", true), (status.Name, status.Count, status.Attempts, status.LastResult, status.Staged));
        // ... and delivered as soon as the app's sidecar connects.
        await using var sidecar = await FakeSidecar.ConnectAsync(s, "later");
        Assert.Equal("staged", (await sidecar.NextAsync()).Trigger.Name);
    }

    [Fact]
    public async Task Unanswered_trigger_is_redelivered_after_the_stream_reconnects()
    {
        await using var s = await StartAsync();
        // A consumer that takes the trigger and goes away without answering.
        var silent = await FakeSidecar.ConnectAsync(s, "app1", (_, _) => null);
        await s.ScheduleAsync("redo", due: "0s");
        var first = (await silent.NextAsync()).Trigger;
        await silent.DisposeAsync();

        await using var second = await FakeSidecar.ConnectAsync(s, "app1");
        var again = await second.NextAsync();
        Assert.Equal("redo", again.Trigger.Name);
        Assert.Equal(first.ScheduledTime, again.Trigger.ScheduledTime);
    }

    [Fact]
    public async Task Load_is_spread_across_three_sidecars_of_one_app()
    {
        await using var s = await StartAsync();
        await using var a = await FakeSidecar.ConnectAsync(s, "app1");
        await using var b = await FakeSidecar.ConnectAsync(s, "app1");
        await using var c = await FakeSidecar.ConnectAsync(s, "app1");
        await s.ScheduleAsync("spread", schedule: "@every 200ms", due: "1s", repeats: 15);
        var all = new[] { a, b, c };
        await Task.WhenAll(all.Select(x => x.NextAsync(20)));   // each of the three gets some
        // ... and together exactly one delivery per tick: each is counted on arrival, before its answer lets the job
        // go on, so once the job is deleted all fifteen have been counted.
        await s.WaitForNoJobsAsync();
        Assert.Equal(15, all.Sum(x => x.DeliveriesOf("spread")));
    }
}
