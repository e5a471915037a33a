using Google.Protobuf.WellKnownTypes;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using Platform.SchedulerProtocol.Common;
using TestSupport;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

public class CrashTests
{
    [Fact]
    public async Task Kill_during_recurring_jobs_then_restart_counts_every_tick_exactly_once()
    {
        await using var s = await StartAsync();
        await KillDuringRecurringJobsThenRestartAsync(s);
    }

    /// <summary>
    /// Six jobs of five ticks each; kill -9 after about two ticks each, restart on the same store: every tick is then
    /// acknowledged exactly once in all, none beyond the repeats, and a clean stop leaves nothing behind. Any store.
    /// </summary>
    internal static async Task KillDuringRecurringJobsThenRestartAsync(SchedulerUnderTest s)
    {
        const int jobs = 6;
        const int repeats = 5;
        var acked = new Dictionary<string, HashSet<DateTime>>();
        for (var j = 0; j < jobs; j++) acked[$"job-{j}"] = [];
        var total = 0;

        async Task DrainAsync(FakeSidecar sidecar, Func<bool> until, double seconds)
        {
            var deadline = DateTime.UtcNow.AddSeconds(seconds);
            while (!until())
            {
                (WatchJobsResponse Trigger, bool Success, DateTimeOffset At) next;
                try
                {
                    next = await sidecar.NextAsync(Math.Max(0.1, (deadline - DateTime.UtcNow).TotalSeconds));
                }
                catch (Exception e)
                {
                    string counts;
                    lock (acked) counts = string.Join(", ", acked.Select(a => $"{a.Key}={a.Value.Count}"));
                    throw new Xunit.Sdk.XunitException($"{e.GetType().Name} after {total} triggers ({counts}); scheduler output:{Environment.NewLine}" +
                        string.Join(Environment.NewLine, s.Process.Process.Output.TakeLast(60)));
                }
                var (t, success, _) = next;
                Assert.True(success);
                lock (acked) { acked[t.Name].Add(t.ScheduledTime.ToDateTime()); total++; }
            }
        }

        await using (var sidecar = await FakeSidecar.ConnectAsync(s, "crash"))
        {
            for (var j = 0; j < jobs; j++) await s.ScheduleAsync($"job-{j}", schedule: "@every 1s", repeats: repeats, app: "crash");
            // Let a couple of ticks per job go by, then crash mid-run.
            await DrainAsync(sidecar, () => total >= jobs * 2, 20);
            await s.Process.KillAsync();
            await sidecar.Ended.WaitAsync(TimeSpan.FromSeconds(10));
            // Triggers answered before the kill but not read yet by this test count too.
            while (sidecar.Received.Reader.TryRead(out var late))
                if (late.Success) acked[late.Trigger.Name].Add(late.Trigger.ScheduledTime.ToDateTime());
        }
        Assert.All(acked.Values, ticks => Assert.InRange(ticks.Count, 1, repeats - 1));

        await s.RestartAsync();
        await using (var sidecar = await FakeSidecar.ConnectAsync(s, "crash"))
        {
            await DrainAsync(sidecar, () => acked.Values.All(t => t.Count >= repeats), 30);
            // Nothing beyond repeats turns up (redeliveries of acked ticks are allowed, new ticks are not): once every
            // job is deleted nothing more can be dispatched, and the barrier brings in whatever was already on its way.
            await s.WaitForNoJobsAsync("crash");
            foreach (var late in await sidecar.BarrierAsync(s))
                lock (acked) acked[late.Name].Add(late.ScheduledTime.ToDateTime());
        }
        Assert.All(acked.Values, ticks => Assert.Equal(repeats, ticks.Count));

        // Clean stop commits everything: after another restart no job is left.
        Assert.Equal(0, await s.Process.StopAsync());
        await s.RestartAsync();
        Assert.Empty((await s.ClientFor("crash").ListJobsAsync(new ListJobsRequest { Metadata = Meta("crash") })).Jobs);
    }

    [Fact]
    public async Task Killed_with_a_trigger_in_flight_and_a_retry_pending_redelivers_and_keeps_the_attempts()
    {
        const uint maxRetries = 2;
        await using var s = await StartAsync();
        async Task<JobStatus> StatusAsync(string app) =>
            Assert.Single((await s.Admin.ListJobStatusesAsync(new ListJobStatusesRequest { AppId = app })).Jobs);

        // "held" is taken and never answered: in flight when the scheduler dies.
        var holder = await FakeSidecar.ConnectAsync(s, "holder", (_, _) => null);
        await s.ScheduleAsync("held", due: "0s", app: "holder");
        var held = (await holder.NextAsync()).Trigger;

        // "flaky" fails its first delivery; its app then goes away, so the retry is pending at the crash. A retry that
        // reaches this app before it goes (a loaded machine) is never answered: still attempt 1, and in flight.
        await using (var failing = await FakeSidecar.ConnectAsync(s, "retrier", (_, n) => n == 1 ? false : null))
        {
            await s.ScheduleAsync("flaky", due: "0s", app: "retrier", policy: new JobFailurePolicy
            {
                Constant = new JobFailurePolicyConstant { Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), MaxRetries = maxRetries },
            });
            await failing.NextAsync();
            await Poll.UntilAsync(async () => (await StatusAsync("retrier")).Attempts == 1, TimeSpan.FromSeconds(15), "the failed attempt recorded");
        }
        // Progress is written in batches (IJobStore.EnqueueProgress): an awaited write commits with everything queued
        // before it, so once this returns the failed attempt is on disk and the crash below cannot take it.
        await s.ScheduleAsync("sync", due: "1h", app: "sync");

        await s.Process.KillAsync();
        await holder.Ended.WaitAsync(TimeSpan.FromSeconds(10));
        await holder.DisposeAsync();
        await s.RestartAsync();

        // The attempt survived the crash: the job is still on its first tick with one failure behind it.
        var flaky = await StatusAsync("retrier");
        Assert.Equal((1u, 0u), (flaky.Attempts, flaky.Count));

        await using var holderAgain = await FakeSidecar.ConnectAsync(s, "holder");
        var redelivered = (await holderAgain.NextAsync(15)).Trigger;
        Assert.Equal((held.Name, held.ScheduledTime), (redelivered.Name, redelivered.ScheduledTime));

        await using var retrier = await FakeSidecar.ConnectAsync(s, "retrier", (_, _) => false);
        for (var i = 0; i < maxRetries; i++) await retrier.NextAsync(15);
        // Retries used up after 1 + maxRetries deliveries in all: no fresh set of retries after the restart.
        await s.WaitForNoJobsAsync("retrier");
        Assert.Empty(await retrier.BarrierAsync(s));
        Assert.Equal((int)maxRetries, retrier.DeliveriesOf("flaky"));
        await s.WaitForNoJobsAsync("holder");
    }
}
