using BackupWorker.Backups;
using BackupWorker.Restore;

namespace BackupWorker.Tests;

/// <summary>
/// Retention never leaves a database without a good backup: it keeps the newest <c>minimumRedundancy</c> restorable
/// backups, whatever <c>keepLast</c> says, and prunes only after the new backup is verified.
/// </summary>
public class MinimumRedundancyTests
{
    private static readonly BackupMetadata Demo = new("my-prod-db", "hourly");

    private static async Task<BackupRun> RunAsync(EngineFixture engine)
    {
        var run = await engine.Runner.RunAsync("hourly", Demo, "job", CancellationToken.None);
        Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        return run;
    }

    private static void MarkContentBad(EngineFixture engine, BackupRun backup)
    {
        var at = engine.Time.GetUtcNow();
        engine.Restores.UpsertDrill(new DrillRecord(Guid.NewGuid().ToString("N"), backup.Id, backup.Schedule, backup.Database, "manual", at, at,
            DrillOutcome.Failed, "checksum mismatch", null, null));
    }

    [Fact]
    public async Task Backups_found_bad_do_not_count_and_the_newest_restorable_ones_are_kept_up_to_the_minimum()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("hourly", "my-prod-db", "hourly", "@hourly", null, null, null,
            new RetentionRule(2, null, MinimumRedundancy: 2), engine.Time.GetUtcNow()));
        var good = await RunAsync(engine);
        var bad1 = await RunAsync(engine);
        MarkContentBad(engine, bad1);
        var bad2 = await RunAsync(engine);
        MarkContentBad(engine, bad2);

        var newest = await RunAsync(engine);

        // keepLast 2 keeps newest and bad2; of the restorable ones (newest, good), two must stay: good survives.
        Assert.True(File.Exists(good.File), "the older restorable backup was pruned");
        Assert.Null(engine.Catalog.GetRun(good.Id)!.PrunedAt);
        Assert.False(File.Exists(bad1.File));
        Assert.Equal([newest.Id, bad2.Id, good.Id], engine.Catalog.ListBackups(schedule: "hourly").Select(b => b.Id));
        Assert.Equal([newest.Id, good.Id], engine.Catalog.ListBackups(schedule: "hourly").Where(b => engine.Restores.IsRestorable(b.Id)).Select(b => b.Id));
    }

    [Fact]
    public async Task A_new_backup_whose_drill_did_not_verify_it_prunes_nothing()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        var record = engine.Catalog.UpsertSchedule(new ScheduleRecord("hourly", "my-prod-db", "hourly", "@hourly", null, null, null,
            new RetentionRule(1, null), engine.Time.GetUtcNow()));
        engine.Restores.SetDrillPolicy("hourly", record.Instance, 1);
        var verified = await RunAsync(engine);
        Assert.Equal(DrillOutcome.Succeeded, engine.Restores.ListDrills(backupId: verified.Id).Single().Outcome);

        // The drill's scratch directory cannot be made: the next backup's drill cannot run.
        var drills = Path.Combine(engine.RestoreRoot, "drills");
        Directory.Delete(drills);
        await File.WriteAllTextAsync(drills, "in the way");
        var unverified = await RunAsync(engine);

        Assert.Equal(DrillOutcome.Inconclusive, engine.Restores.ListDrills(backupId: unverified.Id).Single().Outcome);
        Assert.True(File.Exists(verified.File), "retention pruned the last verified backup after an unverified one");
        Assert.True(File.Exists(unverified.File));

        // Once drills run again, a verified backup lets retention catch up.
        File.Delete(drills);
        var next = await RunAsync(engine);
        Assert.Equal(DrillOutcome.Succeeded, engine.Restores.ListDrills(backupId: next.Id).Single().Outcome);
        Assert.Equal([next.Id], engine.Catalog.ListBackups(schedule: "hourly").Select(b => b.Id));
    }

    [Fact]
    public void The_guard_keeps_the_databases_newest_restorable_backup_even_outside_the_schedules_scope()
    {
        var at = new DateTimeOffset(2026, 12, 1, 0, 0, 0, TimeSpan.Zero);
        BackupRun Run(string id, string schedule) => new(id, schedule, "db", "job", at, at, 1, "x", "/f/" + id, RunOutcome.Succeeded, null, null, "i");
        var scope = new[] { Run("s3", "s"), Run("s2", "s"), Run("s1", "s") };
        BackupRun[] database = [Run("o9", "other"), .. scope];
        var bad = new HashSet<string> { "s3", "o9" };

        var kept = RetentionGuard.Protected(scope, database, minimumRedundancy: 1, b => !bad.Contains(b.Id));

        Assert.Equal(["s2"], kept.Order());
        Assert.Equal(["s1", "s2"], RetentionGuard.Protected(scope, database, 2, b => !bad.Contains(b.Id)).Order());
        Assert.Equal(["o9", "s3"], RetentionGuard.Protected(scope, database, 1, _ => true).Order());
    }
}
