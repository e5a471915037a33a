using Platform.Scheduler.Engine;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;
using Platform.SchedulerProtocol.Common;
using static Platform.Scheduler.Tests.Engine.EngineHarness;

namespace Platform.Scheduler.Tests.Engine;

public class EngineTests
{
    [Fact]
    public async Task One_shot_fires_at_due_time_and_is_deleted_after_success()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("once", due: "5s");
        h.Time.Advance(TimeSpan.FromSeconds(4));
        await h.AssertNothingPendingAsync(stream);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var t = await stream.NextAsync();
        Assert.Equal("once", t.Key.Name);
        Assert.Equal(Start.AddSeconds(5), t.ScheduledTime);
        Assert.NotNull(await h.Engine.GetJobAsync(Key("once")));
        stream.Ack(t.Id, success: true);
        await h.AssertNothingPendingAsync(stream);            // sent once
        await h.Store.FlushAsync();
        Assert.Null(await h.Engine.GetJobAsync(Key("once")));
        Assert.Equal(0, h.Engine.JobCount);
    }

    [Fact]
    public async Task Recurring_job_stops_at_repeats_and_counts_due_time_trigger()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("rep", schedule: "@every 1s", repeats: 3, due: "0s");
        var times = new List<DateTimeOffset>();
        for (var i = 0; i < 3; i++)
        {
            var t = await stream.NextAsync();
            times.Add(t.ScheduledTime);
            stream.Ack(t.Id, true);
            h.Time.Advance(TimeSpan.FromSeconds(1));
        }
        Assert.Equal([Start, Start.AddSeconds(1), Start.AddSeconds(2)], times);
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Store.FlushAsync();
        await h.AssertNothingPendingAsync(stream);
        Assert.Null(await h.Engine.GetJobAsync(Key("rep")));
    }

    [Fact]
    public async Task Default_failure_policy_delivers_four_times_one_second_apart()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("fail", due: "0s");
        var t = await stream.NextAsync();
        stream.Ack(t.Id, false);
        for (var k = 1; k <= 3; k++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(1));
            t = await stream.NextAsync();
            Assert.Equal((uint)k, t.Attempt);
            Assert.Equal(Start.AddSeconds(k), t.DueTime);
            Assert.Equal(Start, t.ScheduledTime);
            stream.Ack(t.Id, false);
        }
        await h.Store.FlushAsync();
        h.Time.Advance(TimeSpan.FromSeconds(10));
        await h.AssertNothingPendingAsync(stream);
        Assert.Null(await h.Engine.GetJobAsync(Key("fail")));
    }

    [Fact]
    public async Task Drop_policy_delivers_once_and_recurring_job_moves_on()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("drop", schedule: "@every 10s", policy: new JobFailurePolicy { Drop = new JobFailurePolicyDrop() });
        h.Time.Advance(TimeSpan.FromSeconds(10));
        var t = await stream.NextAsync();
        stream.Ack(t.Id, false);
        h.Time.Advance(TimeSpan.FromSeconds(10));
        var next = await stream.NextAsync();
        Assert.Equal(Start.AddSeconds(20), next.ScheduledTime);
        Assert.Equal(0u, next.Attempt);
    }

    [Fact]
    public async Task Constant_policy_without_max_retries_keeps_retrying()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("forever", due: "0s", policy: new JobFailurePolicy
        {
            Constant = new JobFailurePolicyConstant { Interval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(3)) },
        });
        for (var k = 0; k < 10; k++)
        {
            var t = await stream.NextAsync();
            Assert.Equal(Start.AddSeconds(3 * k), t.DueTime);
            stream.Ack(t.Id, false);
            h.Time.Advance(TimeSpan.FromSeconds(3));
        }
        // Still the first tick, ten failures counted, the eleventh attempt due 30 s after it: live and as committed.
        Assert.True(h.Engine.TryGetLiveStatus(Key("forever"), out var live, out var nextDue));
        Assert.Equal((0u, 10u, JobResultKind.Failed), (live.Count, live.Attempts, live.LastResult));
        Assert.Equal(Start.AddSeconds(30), nextDue);
        await h.Store.FlushAsync();
        Assert.Equal(live, (await h.Engine.GetJobAsync(Key("forever")))!.Progress);
    }

    [Fact]
    public async Task Max_retries_four_gives_five_deliveries()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("five", due: "0s", policy: new JobFailurePolicy { Constant = new JobFailurePolicyConstant { MaxRetries = 4 } });
        // No interval: each retry is due at once.
        for (var k = 0; k < 5; k++)
        {
            var t = await stream.NextAsync();
            Assert.Equal((uint)k, t.Attempt);
            stream.Ack(t.Id, false);
        }
        await h.Store.FlushAsync();
        Assert.Null(await h.Engine.GetJobAsync(Key("five")));
        await h.AssertNothingPendingAsync(stream);
    }

    [Fact]
    public async Task No_stream_stages_and_connecting_releases_without_counting()
    {
        await using var h = await StartAsync();
        await h.ScheduleAsync("staged", schedule: "@every 1s", repeats: 3);
        h.Time.Advance(TimeSpan.FromSeconds(5));   // ticks 1..5 passed with nobody listening
        using var stream = h.Engine.OpenStream("default", "app1");
        // Released at once, then the missed ticks back-to-back, capped by repeats.
        var times = new List<DateTimeOffset>();
        for (var i = 0; i < 3; i++)
        {
            var t = await stream.NextAsync();
            times.Add(t.ScheduledTime);
            stream.Ack(t.Id, true);
        }
        Assert.Equal([Start.AddSeconds(1), Start.AddSeconds(2), Start.AddSeconds(3)], times);
        await h.AssertNothingPendingAsync(stream);            // ticks 4 and 5 were not sent: repeats is 3
        await h.Store.FlushAsync();
        Assert.Null(await h.Engine.GetJobAsync(Key("staged")));
    }

    [Fact]
    public async Task Triggers_go_only_to_the_jobs_app_and_round_robin()
    {
        await using var h = await StartAsync();
        using var a = h.Engine.OpenStream("default", "app1");
        using var b = h.Engine.OpenStream("default", "app1");
        using var other = h.Engine.OpenStream("default", "app2");
        await h.ScheduleAsync("rr", schedule: "@every 1s");
        var receivers = new List<JobStream>();
        for (var i = 0; i < 4; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(1));
            var (from, t) = await StreamExtensions.NextFromAnyAsync(a, b);
            receivers.Add(from);
            from.Ack(t.Id, true);
        }
        Assert.Equal(2, receivers.Count(r => r == a));
        Assert.Equal(2, receivers.Count(r => r == b));
        await h.AssertNothingPendingAsync(other);
    }

    [Fact]
    public async Task Broken_stream_redelivers_its_in_flight_trigger()
    {
        await using var h = await StartAsync();
        var first = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("redeliver", due: "0s");
        var t = await first.NextAsync();
        first.Dispose();                                   // no ack: undeliverable, staged
        using var second = h.Engine.OpenStream("default", "app1");
        var again = await second.NextAsync();
        Assert.Equal(t.ScheduledTime, again.ScheduledTime);
        Assert.Equal(0u, again.Attempt);                   // not counted as a failure
        second.Ack(again.Id, true);
        await h.AssertNothingPendingAsync(second);             // redelivered exactly once
        await h.Store.FlushAsync();
        Assert.Null(await h.Engine.GetJobAsync(Key("redeliver")));
    }

    [Fact]
    public async Task Duplicate_without_overwrite_is_already_exists_and_overwrite_resets()
    {
        await using var h = await StartAsync();
        await h.ScheduleAsync("dup", schedule: "@daily");
        var e = await Assert.ThrowsAsync<JobAlreadyExistsException>(() => h.ScheduleAsync("dup", schedule: "@weekly"));
        Assert.Equal("job already exists: 'app||default||app1||dup'", e.Message);
        await h.ScheduleAsync("dup", schedule: "@weekly", repeats: 3, overwrite: true);
        var job = await h.Engine.GetJobAsync(Key("dup"));
        Assert.Equal("@weekly", job!.Schedule);
        Assert.Equal(3u, job.Repeats);
    }

    [Fact]
    public async Task Delete_while_in_flight_ignores_the_late_result()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("del", schedule: "@every 1s", due: "0s");
        var t = await stream.NextAsync();
        await h.Engine.DeleteJobAsync(Key("del"));
        stream.Ack(t.Id, true);
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Store.FlushAsync();
        await h.AssertNothingPendingAsync(stream);
        Assert.Equal(0, h.Engine.JobCount);
        Assert.Null(await h.Engine.GetJobAsync(Key("del")));
    }

    [Fact]
    public async Task Validation_errors_carry_dapr_text()
    {
        await using var h = await StartAsync();
        var e = await Assert.ThrowsAsync<JobValidationException>(() => h.ScheduleAsync("bad", schedule: "* * * * *"));
        Assert.Equal("job failed validation: expected exactly 6 fields, found 5: [* * * * *]", e.Message);
        await Assert.ThrowsAsync<JobValidationException>(() => h.ScheduleAsync("bad/name", schedule: "@daily"));
        await Assert.ThrowsAsync<JobValidationException>(() => h.Engine.DeleteByNamePrefixAsync("default", "app1", "a/"));
    }

    [Fact]
    public async Task Default_failure_policy_is_stored()
    {
        await using var h = await StartAsync();
        await h.ScheduleAsync("p", schedule: "@daily");
        var job = await h.Engine.GetJobAsync(Key("p"));
        var policy = JobFailurePolicy.Parser.ParseFrom(job!.FailurePolicy);
        Assert.Equal(TimeSpan.FromSeconds(1), policy.Constant.Interval.ToTimeSpan());
        Assert.Equal(3u, policy.Constant.MaxRetries);
    }

    [Fact]
    public async Task List_and_prefix_delete_are_scoped_to_the_app()
    {
        await using var h = await StartAsync();
        await h.ScheduleAsync("abc-1", schedule: "@daily");
        await h.ScheduleAsync("abc-2", schedule: "@daily");
        await h.ScheduleAsync("xyz", schedule: "@daily");
        await h.ScheduleAsync("abc-1", schedule: "@daily", app: "app2");
        Assert.Equal(["abc-1", "abc-2", "xyz"], (await h.Engine.ListJobsAsync("default", "app1")).Select(j => j.Key.Name));
        await h.Engine.DeleteByNamePrefixAsync("default", "app1", "abc-");
        Assert.Equal(["xyz"], (await h.Engine.ListJobsAsync("default", "app1")).Select(j => j.Key.Name));
        Assert.Single(await h.Engine.ListJobsAsync("default", "app2"));
        await h.Engine.DeleteByNamePrefixAsync("default", "app1", "");
        Assert.Empty(await h.Engine.ListJobsAsync("default", "app1"));
        Assert.Equal(1, h.Engine.JobCount);
    }

    [Fact]
    public async Task Restart_resumes_from_committed_progress_and_catches_up()
    {
        var dir = Directory.CreateTempSubdirectory("engine-restart-").FullName;
        try
        {
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start);
            var h = await StartAsync(dir, time);
            using (var stream = h.Engine.OpenStream("default", "app1"))
            {
                await h.ScheduleAsync("r", schedule: "@every 1s", repeats: 5);
                for (var i = 0; i < 2; i++)
                {
                    time.Advance(TimeSpan.FromSeconds(1));
                    stream.Ack((await stream.NextAsync()).Id, true);
                }
            }
            await h.StopAsync();
            var stored = await new SqliteJobStore(dir).GetAsync(Key("r"));
            Assert.Equal(2u, stored!.Progress.Count);

            time.Advance(TimeSpan.FromSeconds(30));       // down for a while
            await using var again = await StartAsync(dir, time);
            using var s2 = again.Engine.OpenStream("default", "app1");
            var times = new List<DateTimeOffset>();
            for (var i = 0; i < 3; i++)
            {
                var t = await s2.NextAsync();
                times.Add(t.ScheduledTime);
                s2.Ack(t.Id, true);
            }
            Assert.Equal([Start.AddSeconds(3), Start.AddSeconds(4), Start.AddSeconds(5)], times);
            await again.AssertNothingPendingAsync(s2);         // each missed tick once, none past repeats
            await again.Store.FlushAsync();
            Assert.Null(await again.Engine.GetJobAsync(Key("r")));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Retries_survive_a_restart()
    {
        var dir = Directory.CreateTempSubdirectory("engine-retry-").FullName;
        try
        {
            var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start);
            var h = await StartAsync(dir, time);
            using (var stream = h.Engine.OpenStream("default", "app1"))
            {
                await h.ScheduleAsync("retry", due: "0s", policy: new JobFailurePolicy
                {
                    Constant = new JobFailurePolicyConstant { Interval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(10)), MaxRetries = 2 },
                });
                stream.Ack((await stream.NextAsync()).Id, false);
            }
            await h.StopAsync();

            await using var again = await StartAsync(dir, time);
            using var s2 = again.Engine.OpenStream("default", "app1");
            time.Advance(TimeSpan.FromSeconds(9));
            await again.AssertNothingPendingAsync(s2);
            time.Advance(TimeSpan.FromSeconds(1));
            var t = await s2.NextAsync();
            Assert.Equal(1u, t.Attempt);                       // the persisted attempt count carried over
            Assert.Equal(Start.AddSeconds(10), t.DueTime);
            s2.Ack(t.Id, false);
            time.Advance(TimeSpan.FromSeconds(10));
            t = await s2.NextAsync();
            Assert.Equal(2u, t.Attempt);
            s2.Ack(t.Id, false);                                // retries exhausted: one-shot done
            await again.Store.FlushAsync();
            Assert.Null(await again.Engine.GetJobAsync(Key("retry")));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    [Fact]
    public async Task Overwrite_while_in_flight_starts_a_fresh_job_and_ignores_the_old_result()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("ow", schedule: "@every 1s", due: "0s", repeats: 5);
        var old = await stream.NextAsync();
        await h.ScheduleAsync("ow", schedule: "@every 10s", repeats: 1, overwrite: true);
        stream.Ack(old.Id, true);                           // late result of the replaced job: ignored
        h.Time.Advance(TimeSpan.FromSeconds(9));
        await h.AssertNothingPendingAsync(stream);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var fresh = await stream.NextAsync();
        Assert.Equal(Start.AddSeconds(10), fresh.ScheduledTime);
        stream.Ack(fresh.Id, true);
        await h.Store.FlushAsync();
        Assert.Null(await h.Engine.GetJobAsync(Key("ow")));  // repeats 1 of the new job: done
    }

    [Fact]
    public async Task Job_whose_first_tick_is_past_its_ttl_is_deleted_without_firing()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("expired", schedule: "@hourly", ttl: "10m");
        await h.Store.FlushAsync();
        Assert.Null(await h.Engine.GetJobAsync(Key("expired")));
        h.Time.Advance(TimeSpan.FromHours(2));
        await h.AssertNothingPendingAsync(stream);
    }

    [Fact]
    public async Task Ttl_stops_a_recurring_job_and_retries_ignore_it()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("ttl", schedule: "@every 1s", ttl: "2s");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        stream.Ack((await stream.NextAsync()).Id, true);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var last = await stream.NextAsync();                 // the tick exactly at the expiration fires
        Assert.Equal(Start.AddSeconds(2), last.ScheduledTime);
        stream.Ack(last.Id, false);
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var retry = await stream.NextAsync();                // a retry after the ttl still happens
        Assert.Equal(1u, retry.Attempt);
        stream.Ack(retry.Id, true);
        h.Time.Advance(TimeSpan.FromSeconds(5));
        await h.Store.FlushAsync();
        await h.AssertNothingPendingAsync(stream);
        Assert.Null(await h.Engine.GetJobAsync(Key("ttl")));
    }
}
