using System.Globalization;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Diagnostics.Metrics.Testing;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupWorker.Tests;

/// <summary>
/// At least once in, exactly once out: a trigger delivered again for a tick already backed up (a redelivery after a
/// scheduler or sidecar crash, however late, in this worker or another on the same data directory) takes no second
/// copy; a tick whose run failed is backed up by its retry; different ticks are different backups.
/// The schedule ticks every minute from 12:00, so a delivery arriving after the next tick is one that coalescing by
/// arrival time alone cannot tell from a new tick.
/// </summary>
public sealed class TickOnceTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
    private static readonly DateTimeOffset Created = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    /// <summary>The header value our sidecar sends for the tick <paramref name="minute"/> minutes after 12:00.</summary>
    private static string Tick(int minute) =>
        (Created + TimeSpan.FromMinutes(minute)).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", CultureInfo.InvariantCulture);

    private static DateTimeOffset At(int minute, double seconds) => Created + TimeSpan.FromMinutes(minute) + TimeSpan.FromSeconds(seconds);

    private sealed class Worker : IDisposable
    {
        public Worker(EngineFixture engine)
        {
            _owner = new ClaimOwner(engine.Paths);
            Ticks = new TriggerTickCatalog(engine.Paths, _owner);
            Handler = new BackupJobHandler(engine.Runner, engine.Time, Logger, engine.Telemetry, Ticks);
        }

        // One per worker process.
        private readonly ClaimOwner _owner;

        public TriggerTickCatalog Ticks { get; }
        public CapturingLogger<BackupJobHandler> Logger { get; } = new();
        public BackupJobHandler Handler { get; }

        public void Dispose() => _owner.Dispose();
    }

    private static EngineFixture MinutelyEngine(string database = "my-prod-db", params IDatabaseBackupProvider[] extra)
    {
        var engine = new EngineFixture(o =>
        {
            if (database == "gated") o.Databases["gated"] = new DatabaseOptions { Provider = "gate" };
        }, extra);
        engine.Catalog.UpsertSchedule(new ScheduleRecord("minutely", database, "backups/minutely", "@every 1m", null, null, null, new RetentionRule(null, null), Created));
        return engine;
    }

    private static byte[] Payload(string database = "my-prod-db") => BackupPayload.ForDatabase(database, "backups/minutely").ToUtf8Json();

    /// <summary>The backup files in the schedule's location (not their checksum files, not temp files).</summary>
    private static string[] BackupFilesOf(EngineFixture engine)
    {
        var directory = engine.Paths.ResolveLocation("backups/minutely");
        return Directory.Exists(directory)
            ? Directory.GetFiles(directory).Where(f => !f.EndsWith(BackupRunner.ChecksumExtension, StringComparison.Ordinal) && !Path.GetFileName(f).StartsWith('.')).ToArray()
            : [];
    }

    [Fact]
    public async Task A_trigger_with_its_tick_records_and_logs_how_late_it_arrived_and_one_without_records_nothing()
    {
        using var engine = MinutelyEngine();
        engine.SeedDemoDatabase();
        using var worker = new Worker(engine);
        using var delays = new MetricCollector<double>(engine.MeterFactory, BackupTelemetry.Name, "backup.trigger.delay");

        engine.Time.SetUtcNow(At(1, 0.25));
        Assert.IsType<Ok<BackupRun>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(1), CancellationToken.None));
        engine.Time.SetUtcNow(At(2, 0.5));
        await worker.Handler.HandleAsync("minutely", Payload(), scheduledTime: null, CancellationToken.None);

        Assert.Equal(0.25, Assert.Single(delays.GetMeasurementSnapshot()).Value, precision: 6);
        Assert.Contains(worker.Logger.Entries, e => e.Contains("Job trigger received: minutely", StringComparison.Ordinal)
            && e.Contains("scheduled for 2026-11-23T12:01:00.0000000+00:00, 250.0 ms after it", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_tick_delivered_again_after_the_next_tick_is_answered_with_its_run_and_no_copy()
    {
        using var engine = MinutelyEngine();
        engine.SeedDemoDatabase();
        using var worker = new Worker(engine);

        engine.Time.SetUtcNow(At(1, 0.2));
        var first = Assert.IsType<Ok<BackupRun>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(1), CancellationToken.None));
        // The sidecar crashed before the answer reached the scheduler; the 12:01 tick comes again at 12:02:30.
        engine.Time.SetUtcNow(At(2, 30));
        var again = Assert.IsType<Ok<CoalescedTrigger>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(1), CancellationToken.None));

        Assert.Equal(first.Value!.Id, again.Value!.CoveredByRun);
        Assert.Single(BackupFilesOf(engine));
        Assert.Single(engine.Catalog.ListRuns("minutely"), r => r.Outcome == RunOutcome.Succeeded);
        Assert.Single(engine.Catalog.ListRuns("minutely"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_tick_delivered_again_while_its_run_is_under_way_waits_and_takes_no_copy(bool otherProcess)
    {
        var gate = new GateProvider();
        using var engine = MinutelyEngine("gated", gate);
        using var worker = new Worker(engine);
        // A second worker process on the same data directory (its own claims and owner lock), or this one.
        using var other = new Worker(engine);
        var second = otherProcess ? other : worker;

        engine.Time.SetUtcNow(At(1, 0.2));
        var firstDelivery = worker.Handler.HandleAsync("minutely", Payload("gated"), Tick(1), CancellationToken.None);
        await gate.Started.Task.WaitAsync(Wait);
        // The sidecar crashed with the trigger in flight; the scheduler redelivers it after the next tick, while the
        // first delivery's backup is still being taken.
        engine.Time.SetUtcNow(At(2, 30));
        var redelivery = second.Handler.HandleAsync("minutely", Payload("gated"), Tick(1), CancellationToken.None);
        gate.Release.SetResult();

        var first = Assert.IsType<Ok<BackupRun>>(await firstDelivery.WaitAsync(Wait));
        var again = Assert.IsType<Ok<CoalescedTrigger>>(await redelivery.WaitAsync(Wait));
        Assert.Equal(first.Value!.Id, again.Value!.CoveredByRun);
        Assert.Equal(1, gate.Backups);
        Assert.Single(BackupFilesOf(engine));
        Assert.Single(engine.Catalog.ListRuns("minutely"));
    }

    [Fact]
    public async Task Two_ticks_are_two_backups_and_their_late_redeliveries_none()
    {
        using var engine = MinutelyEngine();
        engine.SeedDemoDatabase();
        using var worker = new Worker(engine);

        // 12:01 and 12:02, each delivered on time: the 12:02 tick lies after the first run started, so arrival-time
        // coalescing would not merge them either; the tick path must not.
        engine.Time.SetUtcNow(At(1, 0.2));
        var one = Assert.IsType<Ok<BackupRun>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(1), CancellationToken.None));
        engine.Time.SetUtcNow(At(2, 0.2));
        var two = Assert.IsType<Ok<BackupRun>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(2), CancellationToken.None));
        Assert.NotEqual(one.Value!.Id, two.Value!.Id);

        // Both come again after the 12:03 tick (a scheduler restart redelivering what it had not committed).
        engine.Time.SetUtcNow(At(3, 30));
        var oneAgain = Assert.IsType<Ok<CoalescedTrigger>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(1), CancellationToken.None));
        var twoAgain = Assert.IsType<Ok<CoalescedTrigger>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(2), CancellationToken.None));

        Assert.Equal(one.Value.Id, oneAgain.Value!.CoveredByRun);
        Assert.Equal(two.Value.Id, twoAgain.Value!.CoveredByRun);
        Assert.Equal(2, BackupFilesOf(engine).Length);
        Assert.Equal(2, engine.Catalog.ListRuns("minutely").Count);
    }

    [Fact]
    public async Task A_tick_whose_run_failed_is_backed_up_by_its_retry_and_then_not_again()
    {
        using var engine = MinutelyEngine();
        using var worker = new Worker(engine);

        // No database file yet: the 12:01 run fails and the trigger is answered 500, so the failure policy retries it.
        engine.Time.SetUtcNow(At(1, 0.2));
        var failed = Assert.IsType<ProblemHttpResult>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(1), CancellationToken.None));
        Assert.Equal(500, failed.StatusCode);
        engine.SeedDemoDatabase();
        engine.Time.SetUtcNow(At(1, 5));
        var retried = Assert.IsType<Ok<BackupRun>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(1), CancellationToken.None));
        Assert.Equal(RunOutcome.Succeeded, retried.Value!.Outcome);

        // The retry's answer was lost in a crash: the tick comes once more, after the 12:02 tick.
        engine.Time.SetUtcNow(At(2, 30));
        var again = Assert.IsType<Ok<CoalescedTrigger>>(await worker.Handler.HandleAsync("minutely", Payload(), Tick(1), CancellationToken.None));

        Assert.Equal(retried.Value.Id, again.Value!.CoveredByRun);
        Assert.Single(BackupFilesOf(engine));
        var runs = engine.Catalog.ListRuns("minutely");
        Assert.Equal(2, runs.Count);
        Assert.Single(runs, r => r.Outcome == RunOutcome.Failed);
    }

    [Fact]
    public async Task A_malformed_tick_header_is_logged_and_the_trigger_coalesced_by_arrival_as_without_one()
    {
        using var engine = MinutelyEngine();
        engine.SeedDemoDatabase();
        using var worker = new Worker(engine);

        engine.Time.SetUtcNow(At(1, 0.2));
        Assert.IsType<Ok<BackupRun>>(await worker.Handler.HandleAsync("minutely", Payload(), "2026-11-23 12:01:00", CancellationToken.None));
        engine.Time.SetUtcNow(At(2, 30));
        // Read as no tick: arrival-time coalescing applies, and the 12:02 tick may lie between, so this one runs.
        Assert.IsType<Ok<BackupRun>>(await worker.Handler.HandleAsync("minutely", Payload(), "12:01", CancellationToken.None));

        Assert.Equal(0, worker.Ticks.Count());
        Assert.Equal(2, worker.Logger.Entries.Count(e => e.Contains("ignored header dapr-job-scheduled-time", StringComparison.Ordinal)));
        Assert.Equal(2, BackupFilesOf(engine).Length);
    }

    [Theory]
    [InlineData("2026-12-06T21:00:00Z", "2026-12-06T21:00:00.0000000+00:00")]
    [InlineData("2026-12-06T21:00:00.5Z", "2026-12-06T21:00:00.5000000+00:00")]
    [InlineData("2026-12-06T21:00:00.1234567Z", "2026-12-06T21:00:00.1234567+00:00")]
    [InlineData("2026-12-06T21:00:00.123456789Z", "2026-12-06T21:00:00.1234567+00:00")]
    [InlineData("2026-12-06T21:00:00+00:00", null)]   // UTC, but not as our sidecar writes it
    [InlineData("2026-12-06T21:00:00.1234567890Z", null)]
    [InlineData("2026-12-06t21:00:00z", null)]
    [InlineData("2026-02-30T21:00:00Z", null)]
    [InlineData("2026-12-06T24:00:00Z", null)]
    [InlineData(" 2026-12-06T21:00:00Z", null)]
    [InlineData("2026-12-06T21:00:00Z,2026-12-06T21:00:00Z", null)] // the header twice
    [InlineData("", null)]
    public void The_tick_header_is_parsed_strictly(string text, string? expected)
    {
        var ok = ScheduledTickHeader.TryParse(text, out var tick);
        Assert.Equal(expected is not null, ok);
        if (expected is not null)
        {
            Assert.Equal(TimeSpan.Zero, tick.Offset);
            Assert.Equal(expected, tick.ToString("O", CultureInfo.InvariantCulture));
        }
    }

    [Fact]
    public void A_tick_held_by_a_live_process_is_waited_for_and_one_left_by_a_dead_process_taken_over()
    {
        using var engine = new EngineFixture();
        using var liveProcess = new ClaimOwner(engine.Paths);
        var deadProcess = new ClaimOwner(engine.Paths);
        var live = new TriggerTickCatalog(engine.Paths, liveProcess);
        var dead = new TriggerTickCatalog(engine.Paths, deadProcess);
        var tick = At(1, 0);
        var now = At(1, 1);

        Assert.Equal(TickClaimResult.Claimed, live.Claim("instance", tick, "a", now, out _));
        Assert.Equal(TickClaimResult.Claimed, live.Claim("instance", tick, "a", now, out _)); // the same delivery again
        Assert.Equal(TickClaimResult.HeldElsewhere, dead.Claim("instance", tick, "b", now, out _));
        Assert.Equal(TickClaimResult.HeldElsewhere, live.Claim("instance", tick, "c", now, out _)); // another delivery in the same process

        Assert.Equal(TickClaimResult.Claimed, dead.Claim("instance", At(2, 0), "d", now, out _));
        deadProcess.Dispose(); // its process died: the kernel dropped its owner lock
        Assert.Equal(TickClaimResult.Claimed, live.Claim("instance", At(2, 0), "e", now, out _));

        live.Complete("instance", tick, "a", "run-1", succeeded: true, now);
        Assert.Equal(TickClaimResult.AlreadyDone, live.Claim("instance", tick, "f", now, out var runId));
        Assert.Equal("run-1", runId);
        live.Complete("instance", At(2, 0), "e", "run-2", succeeded: false, now);
        Assert.Equal(TickClaimResult.Claimed, live.Claim("instance", At(2, 0), "g", now, out _)); // failed: a new attempt
    }

    [Fact]
    public void Tick_records_are_pruned_with_the_run_history_bounds()
    {
        using var engine = new EngineFixture();
        using var owner = new ClaimOwner(engine.Paths);
        var ticks = new TriggerTickCatalog(engine.Paths, owner);
        for (var minute = 0; minute < 10; minute++)
        {
            Assert.Equal(TickClaimResult.Claimed, ticks.Claim("i", At(minute, 0), $"c{minute}", At(minute, 1), out _));
            if (minute < 9) ticks.Complete("i", At(minute, 0), $"c{minute}", $"r{minute}", succeeded: true, At(minute, 1));
        }

        Assert.Equal(3, ticks.Prune(olderThan: At(3, 0), keepNewest: 100)); // 12:00..12:02 are older
        Assert.Equal(7, ticks.Count());
        Assert.Equal(2, ticks.Prune(olderThan: At(0, 0), keepNewest: 4, limit: 2)); // 12:03..12:05 lie beyond the newest four; two per call
        Assert.Equal(1, ticks.Prune(olderThan: At(0, 0), keepNewest: 4, limit: 2));
        Assert.Equal(4, ticks.Count());
        Assert.Equal(3, ticks.Prune(olderThan: At(60, 0), keepNewest: 0)); // all but the one still claimed (12:09)
        Assert.Equal(1, ticks.Count());
    }

    /// <summary>A provider whose backup waits until the test lets it finish; counts the copies it makes.</summary>
    private sealed class GateProvider : IDatabaseBackupProvider
    {
        private int _backups;
        public int Backups => Volatile.Read(ref _backups);
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string Provider => "gate";
        public string FileExtension => ".bin";

        public async Task BackupAsync(string databaseName, DatabaseOptions database, string targetFile, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _backups);
            Started.TrySetResult();
            await Release.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            await File.WriteAllTextAsync(targetFile, "backup", cancellationToken);
        }

        public Task VerifyAsync(string backupFile, CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
