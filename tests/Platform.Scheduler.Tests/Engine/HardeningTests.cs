using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Hosting;
using Platform.Scheduler.Schedules;
using Platform.SchedulerProtocol.Common;
using static Platform.Scheduler.Tests.Engine.EngineHarness;

namespace Platform.Scheduler.Tests.Engine;

/// <summary>Issue 10, item 5: no job, stored or submitted, can stop the engine.</summary>
public class HardeningTests
{
    /// <summary>System.Threading.Timer's largest due time.</summary>
    private static readonly TimeSpan SystemTimerLimit = TimeSpan.FromMilliseconds(4294967294);

    [Theory]
    [InlineData(1300.0)]            // dueTime "1300h"
    [InlineData(8760.0)]            // "@every 8760h"
    [InlineData(24.0 * 365 * 8000)] // a date thousands of years ahead
    public void The_timer_is_never_armed_beyond_the_system_timers_limit(double hours)
    {
        var delay = TriggerQueue.TimerDelay(TimeSpan.FromHours(hours).Ticks);
        Assert.InRange(delay, TimeSpan.FromMilliseconds(1), SystemTimerLimit);
        Assert.InRange(TriggerQueue.TimerDelay(long.MaxValue), TimeSpan.FromMilliseconds(1), SystemTimerLimit);
    }

    [Fact]
    public void Fire_time_saturates_instead_of_overflowing_into_the_past()
    {
        var tick = Start.UtcTicks;
        var huge = TimeSpan.FromSeconds(ProtobufTimeValidator.MaxDurationSeconds).Ticks;
        Assert.Equal(DateTimeOffset.MaxValue.UtcTicks, TriggerQueue.FireTime(tick, 3, huge));
        Assert.Equal(tick + 2 * TimeSpan.TicksPerSecond, TriggerQueue.FireTime(tick, 2, TimeSpan.TicksPerSecond));
        Assert.Equal(tick, TriggerQueue.FireTime(tick, 0, huge));
    }

    [Fact]
    public async Task Far_future_jobs_are_accepted_and_others_still_fire_on_time()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        await h.ScheduleAsync("far", due: "1300h");
        await h.ScheduleAsync("years", due: Start.AddYears(7).ToString("yyyy-MM-ddTHH:mm:ssZ"));
        await h.ScheduleAsync("end-of-time", due: "9999-12-31T23:59:59Z");
        await h.ScheduleAsync("yearly", schedule: "@every 8760h");
        await h.ScheduleAsync("fast", schedule: "@every 1s", repeats: 3);
        for (var i = 1; i <= 3; i++)
        {
            h.Time.Advance(TimeSpan.FromSeconds(1));
            var t = await stream.NextAsync();
            Assert.Equal("fast", t.Key.Name);
            Assert.Equal(Start.AddSeconds(i), t.ScheduledTime);
            stream.Ack(t.Id, true);
        }
        await h.AssertNothingPendingAsync(stream);
        Assert.True(h.Engine.IsDispatching);

        // The far job fires when its time comes, after many bounded timer steps.
        h.Time.Advance(TimeSpan.FromHours(1300) - TimeSpan.FromSeconds(3));
        var far = await stream.NextAsync();
        Assert.Equal("far", far.Key.Name);
        Assert.Equal(Start.AddHours(1300), far.ScheduledTime);
        stream.Ack(far.Id, true);
        await h.AssertNothingPendingAsync(stream);
        Assert.True(h.Engine.TryGetLiveStatus(Key("end-of-time"), out _, out var next));
        Assert.Equal(new DateTimeOffset(9999, 12, 31, 23, 59, 59, TimeSpan.Zero), next);
    }

    [Theory]
    [InlineData("0 0 0 1 1 *", "9999-12-31T23:59:59Z", null)]
    [InlineData("@every 2562047h", null, null)]                   // Go's largest duration
    [InlineData("@every 8760h", "9999-12-31T00:00:00Z", "8760h")]
    [InlineData("@yearly", "0001-01-01T00:00:00Z", null)]
    [InlineData(null, "2562047h47m16.854775807s", null)]
    [InlineData("@every 1s", "1300h", "P9000Y")]
    public async Task Far_future_and_far_past_timings_are_accepted_or_refused_but_never_stop_the_engine(string? schedule, string? due, string? ttl)
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        try { await h.ScheduleAsync("edge", schedule: schedule, due: due, ttl: ttl); }
        catch (JobValidationException) { }
        await h.ScheduleAsync("fast", due: "1s");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        var names = new List<string>();
        while (names.Count < 3 && !names.Contains("fast"))
        {
            var t = await stream.NextAsync();
            names.Add(t.Key.Name);
            stream.Ack(t.Id, true);
        }
        Assert.Contains("fast", names);
        await h.IdleAsync();
        Assert.True(h.Engine.IsDispatching);
        if (h.Engine.TryGetLiveStatus(Key("edge"), out _, out _, out var quarantine)) Assert.Null(quarantine);
    }

    public static TheoryData<long, int> BadIntervals => new()
    {
        { 1, -1 },                      // seconds and nanos of different signs
        { -1, 1 },
        { 0, 1_000_000_000 },           // nanos out of range
        { 0, -1_000_000_000 },
        { 5, 2_000_000_000 },
        { 315_576_000_001, 0 },         // beyond Duration's +10000 years
        { -315_576_000_001, 0 },        // beyond -10000 years
        { long.MaxValue, 0 },
        { -1, 0 },                      // negative
        { 0, -5 },
        { -3, -5 },
    };

    [Theory]
    [MemberData(nameof(BadIntervals))]
    public async Task Bad_failure_policy_intervals_are_refused_and_nothing_is_stored(long seconds, int nanos)
    {
        await using var h = await StartAsync();
        var policy = new JobFailurePolicy { Constant = new JobFailurePolicyConstant { Interval = new Duration { Seconds = seconds, Nanos = nanos }, MaxRetries = 1 } };
        var e = await Assert.ThrowsAsync<JobArgumentException>(() => h.ScheduleAsync("bad", schedule: "@every 1s", policy: policy));
        Assert.StartsWith("job failed validation: invalid failure policy interval: duration (", e.Message);
        Assert.Null(await h.Engine.GetJobAsync(Key("bad")));
        Assert.Empty(await h.Engine.ListJobsAsync("default", "app1"));
        Assert.Equal(0, h.Engine.JobCount);
    }

    [Fact]
    public async Task Valid_extreme_intervals_are_accepted()
    {
        await using var h = await StartAsync();
        foreach (var (name, d) in new[] { ("zero", new Duration()), ("half", new Duration { Nanos = 500_000_000 }), ("max", new Duration { Seconds = 315_576_000_000, Nanos = 999_999_999 }) })
            await h.ScheduleAsync(name, schedule: "@every 1s", policy: new JobFailurePolicy { Constant = new JobFailurePolicyConstant { Interval = d } });
        Assert.Equal(3, h.Engine.JobCount);

        // A failed tick of the 10000-year-interval job waits at the end of time, without disturbing the others.
        using var stream = h.Engine.OpenStream("default", "app1");
        h.Time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 3; i++)
        {
            var t = await stream.NextAsync();
            stream.Ack(t.Id, success: t.Key.Name != "max");
        }
        await h.IdleAsync();
        Assert.True(h.Engine.IsDispatching);
        Assert.True(h.Engine.TryGetLiveStatus(Key("max"), out _, out var next, out var quarantine));
        Assert.Null(quarantine);
        Assert.Equal(DateTimeOffset.MaxValue.UtcTicks, next!.Value.UtcTicks);
    }

    [Fact]
    public async Task Bad_stored_rows_are_quarantined_while_start_up_completes_and_others_fire()
    {
        var dir = Directory.CreateTempSubdirectory("engine-test-").FullName;
        try
        {
            await using (var h = await StartAsync(dir))
            {
                foreach (var name in new[] { "good", "bad-policy", "bad-schedule", "bad-column", "bad-data" })
                    await h.ScheduleAsync(name, schedule: "@every 1s", repeats: 2);
            }
            WriteBadRows(Path.Combine(dir, "scheduler.db"));

            // Today the first bad row throws out of StartAsync: the scheduler never starts.
            await using var restarted = await StartAsync(dir, new Microsoft.Extensions.Time.Testing.FakeTimeProvider(Start));
            Assert.True(restarted.Engine.IsDispatching);
            Assert.Equal(5, restarted.Engine.JobCount);
            foreach (var bad in new[] { "bad-policy", "bad-schedule", "bad-column" })
            {
                Assert.True(restarted.Engine.TryGetLiveStatus(Key(bad), out _, out var next, out var quarantine));
                Assert.StartsWith("install failed: ", quarantine);
                Assert.Null(next);
            }

            using var stream = restarted.Engine.OpenStream("default", "app1");
            restarted.Time.Advance(TimeSpan.FromSeconds(1));
            var fired = new List<string>();
            for (var i = 0; i < 2; i++)
            {
                var t = await stream.NextAsync();
                fired.Add(t.Key.Name);
                // An in-process consumer that cannot deliver a job's data rejects it, as the gRPC service does.
                if (t.Key.Name == "bad-data") stream.Reject(t.Id, new InvalidDataException("stored data does not parse"));
                else stream.Ack(t.Id, true);
            }
            Assert.Equal(["bad-data", "good"], fired.Order());
            restarted.Time.Advance(TimeSpan.FromSeconds(1));
            var second = await stream.NextAsync();
            Assert.Equal("good", second.Key.Name);
            stream.Ack(second.Id, true);
            await restarted.AssertNothingPendingAsync(stream);
            Assert.True(restarted.Engine.TryGetLiveStatus(Key("bad-data"), out _, out _, out var dataQuarantine));
            Assert.Equal("fire failed: stored data does not parse", dataQuarantine);
            Assert.True(restarted.Engine.IsDispatching);

            // Overwriting a quarantined job clears it.
            await restarted.ScheduleAsync("bad-policy", schedule: "@every 1s", repeats: 1, overwrite: true);
            Assert.True(restarted.Engine.TryGetLiveStatus(Key("bad-policy"), out _, out var fixedNext, out var cleared));
            Assert.Null(cleared);
            Assert.NotNull(fixedNext);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            try { Directory.Delete(dir, true); } catch (IOException) { }
        }
    }

    /// <summary>Damages rows of the store directly, as a bug of an older version or a hand edit would.</summary>
    internal static void WriteBadRows(string databasePath)
    {
        var nonNormalised = new JobFailurePolicy { Constant = new JobFailurePolicyConstant { Interval = new Duration { Seconds = 1, Nanos = -1 } } };
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = databasePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            UPDATE jobs SET failure_policy = $policy WHERE name = 'bad-policy';
            UPDATE jobs SET schedule = '@every banana' WHERE name = 'bad-schedule';
            UPDATE jobs SET failure_policy = 'not a blob' WHERE name = 'bad-column';
            UPDATE jobs SET data = x'FFFF' WHERE name = 'bad-data';
            """;
        command.Parameters.AddWithValue("$policy", nonNormalised.ToByteArray());
        Assert.Equal(4, command.ExecuteNonQuery());
    }

    [Fact]
    public async Task Healthz_is_unhealthy_once_the_dispatch_loop_has_died()
    {
        await using var h = await StartAsync();
        Assert.Equal(200, await HealthzAsync(h.Engine));
        await h.ScheduleAsync("fast", schedule: "@every 1s");

        h.Engine.FailDispatchLoop(new InvalidOperationException("injected"));
        var loop = await Assert.ThrowsAsync<InvalidOperationException>(() => h.Engine.DispatchLoop.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal("injected", loop.Message);
        Assert.False(h.Engine.IsDispatching);
        Assert.Equal(503, await HealthzAsync(h.Engine));
    }

    [Fact]
    public async Task Healthz_is_unhealthy_once_the_engine_has_stopped()
    {
        await using var h = await StartAsync();
        Assert.Equal(200, await HealthzAsync(h.Engine));
        await h.Engine.StopAsync();
        Assert.Equal(503, await HealthzAsync(h.Engine));
    }

    private static async Task<int> HealthzAsync(SchedulerEngine engine)
    {
        var context = new DefaultHttpContext();
        context.Request.Path = "/healthz";
        await HealthEndpoint.HandleAsync(context, engine);
        return context.Response.StatusCode;
    }
}
