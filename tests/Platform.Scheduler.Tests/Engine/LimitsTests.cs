using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Schedules;
using static Platform.Scheduler.Tests.Engine.EngineHarness;

namespace Platform.Scheduler.Tests.Engine;

/// <summary>The engine's resource bounds: jobs per app, payload size, and triggers that get no answer.</summary>
public class LimitsTests
{
    [Fact]
    public async Task An_app_at_its_job_quota_is_refused_a_new_name_and_keeps_what_it_has()
    {
        await using var h = await StartAsync(options: new SchedulerEngineOptions { MaxJobsPerApp = 2 });
        await h.ScheduleAsync("a", schedule: "@daily");
        await h.ScheduleAsync("b", schedule: "@daily");

        var refused = await Assert.ThrowsAsync<JobQuotaException>(() => h.ScheduleAsync("c", schedule: "@daily"));
        Assert.Equal("app 'default||app1' holds 2 jobs, the limit of 2 jobs per app", refused.Message);
        Assert.Null(await h.Engine.GetJobAsync(Key("c")));
        Assert.Equal("@daily", (await h.Engine.GetJobAsync(Key("a")))!.Schedule);

        // Replacing a held name needs no new place; other apps have their own quota.
        await h.ScheduleAsync("a", schedule: "@weekly", overwrite: true);
        await h.ScheduleAsync("c", schedule: "@daily", app: "app2");
        // A deleted job frees its place.
        await h.Engine.DeleteJobAsync(Key("b"));
        await h.ScheduleAsync("c", schedule: "@daily");
        Assert.Equal(3, h.Engine.JobCount);
    }

    [Fact]
    public async Task Concurrent_calls_cannot_together_pass_the_job_quota()
    {
        await using var h = await StartAsync(options: new SchedulerEngineOptions { MaxJobsPerApp = 5 });
        var calls = Enumerable.Range(0, 40).Select(i => h.ScheduleAsync($"j{i}", schedule: "@daily")).ToArray();
        try { await Task.WhenAll(calls); } catch (JobQuotaException) { }
        Assert.Equal(5, calls.Count(c => c.IsCompletedSuccessfully));
        Assert.All(calls.Where(c => !c.IsCompletedSuccessfully), c => Assert.IsType<JobQuotaException>(c.Exception!.InnerException));
        Assert.Equal(5, (await h.Engine.ListJobsAsync("default", "app1")).Count);
    }

    [Fact]
    public async Task A_payload_over_the_limit_is_refused_naming_the_limit_and_nothing_is_stored()
    {
        await using var h = await StartAsync(options: new SchedulerEngineOptions { MaxJobDataBytes = 100 });
        var big = Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[200]) });
        var refused = await Assert.ThrowsAsync<JobQuotaException>(() => h.ScheduleAsync("big", schedule: "@daily", data: big));
        Assert.Equal($"job data is {big.CalculateSize()} bytes, over the limit of 100 bytes per job", refused.Message);
        Assert.Null(await h.Engine.GetJobAsync(Key("big")));

        // The same name, overwritten with a big payload, keeps its stored job.
        await h.ScheduleAsync("small", schedule: "@daily", data: Any.Pack(new StringValue { Value = "ok" }));
        await Assert.ThrowsAsync<JobQuotaException>(() => h.ScheduleAsync("small", schedule: "@weekly", data: big, overwrite: true));
        Assert.Equal("@daily", (await h.Engine.GetJobAsync(Key("small")))!.Schedule);
    }

    [Fact]
    public async Task A_trigger_with_no_answer_within_the_ack_timeout_is_redelivered_and_counted_once()
    {
        await using var h = await StartAsync(options: new SchedulerEngineOptions { TriggerAckTimeout = TimeSpan.FromSeconds(30) });
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("hang", due: "0s");
        var first = await stream.NextAsync();

        h.Time.Advance(TimeSpan.FromSeconds(29));
        await h.AssertNothingPendingAsync(stream);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var again = await stream.NextAsync();
        Assert.Equal(("hang", first.ScheduledTime, 0u), (again.Key.Name, again.ScheduledTime, again.Attempt));
        Assert.NotEqual(first.Id, again.Id);

        // The late answer to the taken-back trigger is ignored; the redelivered one completes the job.
        stream.Ack(first.Id, success: true);
        Assert.True(h.Engine.TryGetLiveStatus(Key("hang"), out var progress, out _));
        Assert.Equal(0u, progress.Count);
        stream.Ack(again.Id, success: true);
        await h.AssertNothingPendingAsync(stream);
        await h.Store.FlushAsync();
        Assert.Null(await h.Engine.GetJobAsync(Key("hang")));
    }

    [Fact]
    public async Task An_answered_trigger_is_never_redelivered_by_the_ack_timeout()
    {
        await using var h = await StartAsync(options: new SchedulerEngineOptions { TriggerAckTimeout = TimeSpan.FromSeconds(30) });
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("fine", schedule: "@every 1h");
        h.Time.Advance(TimeSpan.FromHours(1));
        var t = await stream.NextAsync();
        stream.Ack(t.Id, success: true);
        h.Time.Advance(TimeSpan.FromMinutes(5));
        await h.AssertNothingPendingAsync(stream);
        Assert.True(h.Engine.TryGetLiveStatus(Key("fine"), out var progress, out _));
        Assert.Equal(1u, progress.Count);
    }
}
