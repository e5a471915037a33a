using Shared;
using System.Diagnostics.Metrics;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Platform.Scheduler.Schedules;

namespace BackupWorker.Tests;

/// <summary>No catch-up storms: how many ticks a past due time replays, and a burst of overdue triggers is one backup.</summary>
public class CatchUpTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("@every 1m", "2026-11-23T11:00:00Z", null, null, 6)]        // 61 ticks due: counting stops past the limit
    [InlineData("@every 1m", "2026-11-23T11:57:30Z", null, null, 3)]        // 11:57:30, 11:58:30, 11:59:30
    [InlineData("@every 1m", "2026-11-23T11:00:00Z", 2, null, 2)]           // repeats bound it
    [InlineData("@every 1m", "2026-11-23T11:00:00Z", null, "2026-11-23T11:02:00Z", 3)] // so does the expiration
    [InlineData("0 0 * * * *", "2026-11-23T08:30:00Z", null, null, 4)]      // due, then 09:00, 10:00, 11:00
    [InlineData("@daily", "2026-11-20T12:00:00Z", null, null, 4)]           // due, then 21st, 22nd, 23rd midnight
    [InlineData("@every 1h", "2026-11-23T12:30:00Z", null, null, 0)]        // due in the future: nothing replayed
    public void A_past_due_time_replays_every_tick_since_then(string schedule, string due, int? repeats, string? expiration, int expected)
    {
        var ticks = ScheduleTicks.TryParse(schedule)!;
        Assert.Equal(expected, ticks.CountDueBy(DateTimeOffset.Parse(due), Now - TimeSpan.FromTicks(1), repeats, expiration is null ? null : DateTimeOffset.Parse(expiration), limit: 5));
    }

    [Fact]
    public void A_schedule_with_both_day_fields_restricted_is_counted_not_skipped()
    {
        // Day 1-31 or any weekday: every second. Cronos could not say; the scheduler fires each one.
        var ticks = ScheduleTicks.TryParse("* * * 1-31 * 0-6");
        Assert.NotNull(ticks);
        Assert.Equal(121, ticks.CountDueBy(Now.AddSeconds(-120), Now, null, null, limit: 1000));
        Assert.Equal(6, ticks.CountDueBy(Now.AddSeconds(-120), Now, null, null, limit: 5));
    }

    /// <summary>
    /// The apps' tick counting against the scheduler's own evaluation: its job timing (due time and ttl resolved as
    /// the engine does) and its trigger rule, tick after tick, for each form the scheduler accepts.
    /// </summary>
    [Theory]
    [InlineData("* * * 1-31 * 0-6", "2026-11-23T11:58:00Z", null, null)]             // both day fields restricted: OR
    [InlineData("0 0 12 13 * 5", "2025-01-01T00:00:00Z", null, null)]                // the 13th or a Friday
    [InlineData("0 0 0 31 * mon", "2026-01-01T00:00:00Z", null, null)]               // names, and months without a 31st
    [InlineData("0 30 2 * * *", "2026-01-01T00:00:00Z", null, "2026-06-01T00:00:00Z")] // a ttl ends it
    [InlineData("TZ=Europe/Berlin 0 30 2 * * *", "2026-03-20T00:00:00Z", null, null)] // the spring-forward night has no 02:30
    [InlineData("CRON_TZ=America/New_York 0 30 1 * * *", "2026-10-28T00:00:00Z", null, null)] // the fall-back night has two
    [InlineData("*/7 5-40/3 * * * ?", "2026-11-23T09:00:00Z", 50, null)]             // steps, ranges, ?, repeats
    [InlineData("@every 90s", "2026-11-23T10:00:00.250Z", null, null)]
    [InlineData("@every 1h30m", "2026-11-01T00:00:00Z", null, null)]
    [InlineData("@hourly", "2026-11-20T00:00:00Z", null, null)]
    [InlineData("@daily", "2026-01-01T00:00:00Z", null, null)]
    [InlineData("@weekly", "2025-11-23T00:00:00Z", null, null)]
    [InlineData("@monthly", "2020-11-23T00:00:00Z", null, null)]
    [InlineData("TZ=Asia/Kolkata @yearly", "2000-06-01T00:00:00Z", null, null)]
    [InlineData("0 0 0 29 2 *", "2000-01-01T00:00:00Z", null, null)]                // leap days only
    public void The_tick_count_agrees_with_the_schedulers_evaluation(string schedule, string due, int? repeats, string? ttl)
    {
        var timing = JobTiming.Resolve(new JobTimingSpec(schedule, (uint?)repeats, due, ttl), Now);
        var expected = 0;
        var ticks = new List<DateTimeOffset>();
        for (var last = TickCalculator.None; ; expected++)
        {
            var next = TickCalculator.Next(timing.Schedule, (uint)(repeats ?? 0), timing.Created.UtcTicks, timing.Due!.Value.UtcTicks,
                timing.Expiration?.UtcTicks ?? long.MaxValue, (uint)expected, last);
            if (next == TickCalculator.None || next > Now.UtcTicks) break;
            ticks.Add(new DateTimeOffset(last = next, TimeSpan.Zero));
        }

        var parsed = ScheduleTicks.TryParse(schedule);
        Assert.NotNull(parsed);
        Assert.Equal(expected, parsed.CountDueBy(timing.Due!.Value, Now, repeats, timing.Expiration, limit: 100_000));
        // Between two ticks the scheduler fires nothing; at the next one it does.
        if (timing.Schedule is CronSchedule)
            foreach (var (tick, next) in ticks.Zip(ticks.Skip(1)).Take(50))
            {
                Assert.False(ScheduleTicks.MayTickBetween(parsed, schedule, null, Now.AddYears(-30), tick, next.AddTicks(-1)));
                Assert.True(ScheduleTicks.MayTickBetween(parsed, schedule, null, Now.AddYears(-30), tick, next));
            }
    }

    [Theory]
    [InlineData("@every 1m", null, "12:01:02.500", "12:01:30", false)]   // a run just after the 12:01 tick (±2 s) covers a trigger later
    [InlineData("@every 1m", null, "12:01:00.500", "12:01:01", true)]    // ...but not within the creation's uncertainty
    [InlineData("@every 1m", null, "12:01:00.500", "12:02:05", true)]    // the 12:02 tick came after the run started
    [InlineData("@every 1m", null, "12:00:59", "12:01:00.100", true)]    // creation is known to ±2 s: 12:01 is possible
    [InlineData("@every 1s", null, "12:00:10.500", "12:00:10.900", true)] // shorter than the uncertainty: always maybe
    [InlineData("0 0 2 * * *", null, "02:00:05", "02:30:00", false)]
    [InlineData("0 0 2 * * *", null, "02:00:05", "02:00:00+1", true)]     // next day's tick
    [InlineData(null, "2026-11-23T12:05:00Z", "12:05:01", "12:10:00", false)] // a one-shot already backed up (a redelivery)
    [InlineData(null, "2026-11-23T12:05:00Z", "12:04:00", "12:10:00", true)]
    [InlineData("not a schedule", null, "12:00:01", "12:00:02", true)]    // not understood: never coalesced
    [InlineData("1 2 3 4 5 6", null, "12:00:01", "12:00:02", false)]      // day-of-month and day-of-week both set: evaluated as the scheduler does
    public void Whether_a_tick_may_fall_between_a_run_and_a_trigger(string? schedule, string? due, string after, string until, bool expected)
    {
        var created = Now; // 12:00:00 on the 23rd
        static DateTimeOffset At(string time)
        {
            var nextDay = time.EndsWith("+1", StringComparison.Ordinal);
            var t = TimeSpan.Parse(nextDay ? time[..^2] : time, System.Globalization.CultureInfo.InvariantCulture);
            return new DateTimeOffset(2026, 11, nextDay ? 24 : 23, 0, 0, 0, TimeSpan.Zero) + t;
        }
        Assert.Equal(expected, ScheduleTicks.MayTickBetween(ScheduleTicks.TryParse(schedule), schedule, due, created, At(after), At(until)));
    }

    [Fact]
    public async Task A_burst_of_overdue_triggers_is_one_backup_and_the_next_real_tick_is_another()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        var created = engine.Time.GetUtcNow();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("minutely", "my-prod-db", "minutely", "@every 1m", null, null, null, new RetentionRule(null, null), created));
        var target = new BackupMetadata("my-prod-db", "minutely");
        using var coalesced = new MetricCollector<long>(engine.MeterFactory, BackupTelemetry.Name, "backup.coalesced");

        // The worker was away for ten minutes (at 12:10:30): the scheduler replays the ten missed ticks back-to-back.
        engine.Time.Advance(TimeSpan.FromMinutes(10.5));
        var results = new List<TriggerResult>();
        for (var i = 0; i < 10; i++)
        {
            results.Add(await engine.Runner.RunTriggerAsync("minutely", target, engine.Time.GetUtcNow(), CancellationToken.None));
            engine.Time.Advance(TimeSpan.FromMilliseconds(300));
        }

        Assert.False(results[0].Coalesced);
        Assert.Equal(RunOutcome.Succeeded, results[0].Run.Outcome);
        Assert.All(results.Skip(1), r => Assert.True(r.Coalesced));
        Assert.All(results.Skip(1), r => Assert.Equal(results[0].Run.Id, r.Run.Id));
        Assert.Single(engine.Catalog.ListRuns("minutely"));
        Assert.Single(engine.Catalog.ListBackups("minutely"));
        Assert.Equal(9, coalesced.GetMeasurementSnapshot().EvaluateAsCounter());

        // The 12:11 tick lies after the burst's run started: it is a backup of its own.
        engine.Time.SetUtcNow(created + TimeSpan.FromMinutes(11) + TimeSpan.FromMilliseconds(50));
        var next = await engine.Runner.RunTriggerAsync("minutely", target, engine.Time.GetUtcNow(), CancellationToken.None);
        Assert.False(next.Coalesced);
        Assert.Equal(2, engine.Catalog.ListBackups("minutely").Count);
    }

    [Fact]
    public async Task A_trigger_that_waited_for_a_run_started_after_it_arrived_is_coalesced_into_that_run()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("daily", "my-prod-db", "daily", "@daily", null, null, null, new RetentionRule(null, null), engine.Time.GetUtcNow()));
        var target = new BackupMetadata("my-prod-db", "daily");
        var arrived = engine.Time.GetUtcNow();
        engine.Time.Advance(TimeSpan.FromSeconds(1));
        // Another trigger's run (a redelivery of the same tick, say) started after this one arrived.
        var run = await engine.Runner.RunAsync("daily", target, "job", CancellationToken.None);

        var result = await engine.Runner.RunTriggerAsync("daily", target, arrived, CancellationToken.None);

        Assert.True(result.Coalesced);
        Assert.Equal(run.Id, result.Run.Id);
        Assert.Single(engine.Catalog.ListRuns("daily"));
    }

    [Fact]
    public async Task A_failed_run_covers_nothing_and_a_schedule_unknown_to_the_catalog_is_never_coalesced()
    {
        using var engine = new EngineFixture();
        var created = engine.Time.GetUtcNow();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("minutely", "my-prod-db", "minutely", "@every 1m", null, null, null, new RetentionRule(null, null), created));
        var target = new BackupMetadata("my-prod-db", "minutely");
        engine.Time.Advance(TimeSpan.FromMinutes(10.5));

        // No database file yet: the first run fails, so the next trigger of the burst must still back up.
        var failed = await engine.Runner.RunTriggerAsync("minutely", target, engine.Time.GetUtcNow(), CancellationToken.None);
        Assert.Equal(RunOutcome.Failed, failed.Run.Outcome);
        engine.SeedDemoDatabase();
        engine.Time.Advance(TimeSpan.FromSeconds(1));
        var retried = await engine.Runner.RunTriggerAsync("minutely", target, engine.Time.GetUtcNow(), CancellationToken.None);
        Assert.False(retried.Coalesced);
        Assert.Equal(RunOutcome.Succeeded, retried.Run.Outcome);

        // A job scheduled on the sidecar by someone else has no catalog row: its triggers each run.
        var external = new BackupMetadata("my-prod-db", "external");
        await engine.Runner.RunTriggerAsync("external", external, engine.Time.GetUtcNow(), CancellationToken.None);
        engine.Time.Advance(TimeSpan.FromMilliseconds(10));
        var again = await engine.Runner.RunTriggerAsync("external", external, engine.Time.GetUtcNow(), CancellationToken.None);
        Assert.False(again.Coalesced);
        Assert.Equal(2, engine.Catalog.ListBackups("external").Count);
    }
}
