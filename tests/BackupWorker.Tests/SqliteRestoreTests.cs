using BackupWorker.Backups;
using BackupWorker.Restore;
using Microsoft.Data.Sqlite;

namespace BackupWorker.Tests;

/// <summary>Restores and drills of real SQLite files: back up, change the source, restore, compare rows.</summary>
public class SqliteRestoreTests
{
    private static readonly BackupMetadata Demo = new("my-prod-db", "my-prod-db");

    private static void ChangeSource(string file)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        connection.Open();
        using var change = connection.CreateCommand();
        change.CommandText = "DELETE FROM orders WHERE customer_id > 10; UPDATE customers SET name = 'changed' WHERE id = 1; INSERT INTO customers(id, name, email, created_at) VALUES(999, 'new', 'new@example.com', 'now')";
        change.ExecuteNonQuery();
    }

    private static async Task<(EngineFixture Engine, string Source, BackupRun Backup, List<string> AtBackup)> BackedUpAndChangedAsync()
    {
        var engine = new EngineFixture();
        var source = engine.SeedDemoDatabase();
        var backup = await engine.Runner.RunAsync("prod-db-backup", Demo, "job", CancellationToken.None);
        Assert.True(backup.Outcome == RunOutcome.Succeeded, backup.Error);
        var atBackup = SqliteRows.Dump(source);
        ChangeSource(source);
        Assert.NotEqual(atBackup, SqliteRows.Dump(source));
        return (engine, source, backup, atBackup);
    }

    private static void Damage(string file, long at = 4096 + 100)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = at;
        var b = stream.ReadByte();
        stream.Position = at;
        stream.WriteByte((byte)(b ^ 0xFF));
    }

    private static async Task<RestoreProblemException> RefusedAsync(EngineFixture engine, RestoreRequest request) =>
        await Assert.ThrowsAsync<RestoreProblemException>(() => engine.RestoreService.RestoreAsync(request, CancellationToken.None));

    [Fact]
    public async Task Restore_into_a_new_file_brings_back_the_rows_at_backup_time_and_leaves_the_source_alone()
    {
        var (engine, source, backup, atBackup) = await BackedUpAndChangedAsync();
        using var _ = engine;
        var changed = SqliteRows.Dump(source);

        var restore = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Target: "checks/restored.db", RequestedBy: "test"), CancellationToken.None);

        Assert.Equal(RunOutcome.Succeeded, restore.Outcome);
        var target = Path.Combine(engine.RestoreRoot, "checks", "restored.db");
        Assert.Equal(target, restore.Target);
        Assert.Equal(atBackup, SqliteRows.Dump(target));
        Assert.Equal(changed, SqliteRows.Dump(source));
        Assert.Null(restore.SafetyCopy);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(target)!, ".*"));
        var listed = Assert.Single(engine.Restores.ListRestores(10));
        Assert.Equal((backup.Id, "test", RunOutcome.Succeeded, target), (listed.BackupId, listed.RequestedBy, listed.Outcome, listed.Target));
        Assert.NotNull(listed.EndedAt);
    }

    [Fact]
    public async Task Newest_backup_of_a_schedule_restores_into_a_fresh_file_under_the_restore_root_by_default()
    {
        var (engine, _, _, _) = await BackedUpAndChangedAsync();
        using var __ = engine;
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        var newer = await engine.Runner.RunAsync("prod-db-backup", Demo, "job", CancellationToken.None);

        var restore = await engine.RestoreService.RestoreAsync(new RestoreRequest(Schedule: "prod-db-backup"), CancellationToken.None);

        Assert.Equal(newer.Id, restore.BackupId);
        Assert.StartsWith(engine.RestoreRoot + Path.DirectorySeparatorChar, restore.Target);
        Assert.Equal(SqliteRows.Dump(newer.File!), SqliteRows.Dump(restore.Target));
    }

    [Fact]
    public async Task Replace_over_the_configured_database_keeps_a_safety_copy_of_what_it_replaced()
    {
        var (engine, source, backup, atBackup) = await BackedUpAndChangedAsync();
        using var _ = engine;
        var changed = SqliteRows.Dump(source);

        var restore = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Replace: true), CancellationToken.None);

        Assert.Equal(source, restore.Target);
        Assert.Equal(atBackup, SqliteRows.Dump(source));
        Assert.NotNull(restore.SafetyCopy);
        Assert.StartsWith(engine.RestoreRoot + Path.DirectorySeparatorChar, restore.SafetyCopy);
        Assert.Equal(changed, SqliteRows.Dump(restore.SafetyCopy!));
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(source)!, ".*"));
    }

    [Fact]
    public async Task The_configured_database_or_an_existing_file_is_never_overwritten_without_replace()
    {
        var (engine, source, backup, _) = await BackedUpAndChangedAsync();
        using var _ = engine;
        var before = await File.ReadAllBytesAsync(source);
        Directory.CreateDirectory(Path.Combine(engine.RestoreRoot, "x"));
        var existing = Path.Combine(engine.RestoreRoot, "x", "keep.db");
        await File.WriteAllTextAsync(existing, "not a database, and not to be touched");

        var exists = await RefusedAsync(engine, new RestoreRequest(BackupId: backup.Id, Target: "x/keep.db"));

        Assert.Equal(409, exists.Status);
        Assert.Equal("not a database, and not to be touched", await File.ReadAllTextAsync(existing));
        Assert.Equal(before, await File.ReadAllBytesAsync(source));
        Assert.Equal(RunOutcome.Failed, engine.Restores.GetRestore(exists.Record!.Id)!.Outcome);
    }

    [Fact]
    public async Task A_corrupted_backup_is_refused_and_neither_the_target_nor_the_restore_root_is_touched()
    {
        var (engine, source, backup, _) = await BackedUpAndChangedAsync();
        using var _ = engine;
        var before = await File.ReadAllBytesAsync(source);
        Damage(backup.File!);

        var refused = await RefusedAsync(engine, new RestoreRequest(BackupId: backup.Id, Replace: true));

        Assert.Equal(422, refused.Status);
        Assert.Equal("Backup checksum mismatch", refused.Title);
        Assert.Equal(before, await File.ReadAllBytesAsync(source));
        Assert.False(Directory.Exists(engine.RestoreRoot)); // no safety copy, no temp file
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(source)!, ".*"));
        var recorded = engine.Restores.GetRestore(refused.Record!.Id)!;
        Assert.Equal(RunOutcome.Failed, recorded.Outcome);
        Assert.Contains("not the " + backup.Checksum, recorded.Error);
    }

    [Theory]
    [InlineData("../escape.db")]
    [InlineData("/tmp/escape.db")]
    [InlineData("a/../../escape.db")]
    [InlineData("a//b.db")]
    [InlineData(".hidden.db")]
    public async Task A_target_outside_the_restore_root_is_a_400_and_nothing_is_written(string target)
    {
        var (engine, _, backup, _) = await BackedUpAndChangedAsync();
        using var _ = engine;

        var refused = await RefusedAsync(engine, new RestoreRequest(BackupId: backup.Id, Target: target));

        Assert.Equal(400, refused.Status);
        Assert.Contains("target", refused.Errors!.Keys);
        Assert.False(Directory.Exists(engine.RestoreRoot));
        Assert.False(File.Exists(Path.Combine(engine.DataDirectory, "escape.db")));
    }

    [Fact]
    public async Task A_target_through_a_symbolic_link_is_refused()
    {
        var (engine, _, backup, _) = await BackedUpAndChangedAsync();
        using var _ = engine;
        var outside = Directory.CreateTempSubdirectory("restore-outside-").FullName;
        try
        {
            Directory.CreateDirectory(engine.RestoreRoot);
            Directory.CreateSymbolicLink(Path.Combine(engine.RestoreRoot, "link"), outside);

            var refused = await RefusedAsync(engine, new RestoreRequest(BackupId: backup.Id, Target: "link/x.db"));

            Assert.Equal(400, refused.Status);
            Assert.Contains("symbolic link", refused.Message);
            Assert.Empty(Directory.GetFileSystemEntries(outside));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Unknown_backups_and_ambiguous_requests_are_refused_before_anything_is_recorded()
    {
        var (engine, _, backup, _) = await BackedUpAndChangedAsync();
        using var _ = engine;

        Assert.Equal(404, (await RefusedAsync(engine, new RestoreRequest(BackupId: new string('a', 32)))).Status);
        Assert.Equal(404, (await RefusedAsync(engine, new RestoreRequest(Schedule: "no-such-schedule"))).Status);
        Assert.Equal(400, (await RefusedAsync(engine, new RestoreRequest(BackupId: backup.Id, Schedule: "prod-db-backup"))).Status);
        Assert.Equal(400, (await RefusedAsync(engine, new RestoreRequest())).Status);
        Assert.Equal(400, (await RefusedAsync(engine, new RestoreRequest(BackupId: "../../etc/passwd"))).Status);
        Assert.Empty(engine.Restores.ListRestores(10));
    }

    [Fact]
    public async Task A_restore_over_the_database_while_a_backup_of_it_runs_is_a_409_and_touches_nothing()
    {
        var (engine, source, backup, _) = await BackedUpAndChangedAsync();
        using var _ = engine;
        var before = await File.ReadAllBytesAsync(source);
        // Another schedule of the same database, mid-run: its run lock is held.
        engine.Catalog.UpsertSchedule(new ScheduleRecord("hourly", "my-prod-db", "hourly", "@hourly", null, null, null, new RetentionRule(null, null), engine.Time.GetUtcNow()));
        using (ScheduleRunLock.TryAcquire(engine.Paths, "hourly"))
        {
            var refused = await RefusedAsync(engine, new RestoreRequest(BackupId: backup.Id, Replace: true));

            Assert.Equal(409, refused.Status);
            Assert.Contains("schedule 'hourly'", refused.Message);
            Assert.Equal(before, await File.ReadAllBytesAsync(source));
            Assert.False(Directory.Exists(engine.RestoreRoot));

            // A restore into a new file reads only the backup: it need not wait for the run.
            var aside = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Target: "aside.db"), CancellationToken.None);
            Assert.Equal(RunOutcome.Succeeded, aside.Outcome);
        }
        Assert.Equal(before, await File.ReadAllBytesAsync(source));

        // Once the run has ended the same restore goes through.
        var restore = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Replace: true), CancellationToken.None);
        Assert.Equal(RunOutcome.Succeeded, restore.Outcome);
    }

    [Fact]
    public async Task A_schedule_drilling_every_second_backup_records_successful_drills_of_those()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("prod-db-backup", "my-prod-db", "my-prod-db", "@every 1m", null, null, null, new RetentionRule(null, null), engine.Time.GetUtcNow()));
        engine.Restores.SetDrillPolicy("prod-db-backup", engine.Catalog.GetSchedule("prod-db-backup")!.Instance, 2);

        var runs = new List<BackupRun>();
        for (var i = 0; i < 4; i++)
        {
            runs.Add(await engine.Runner.RunAsync("prod-db-backup", Demo, "job", CancellationToken.None));
            engine.Time.Advance(TimeSpan.FromMinutes(1));
        }

        var drills = engine.Restores.ListDrills(schedule: "prod-db-backup");
        Assert.Equal([runs[3].Id, runs[1].Id], drills.Select(d => d.BackupId));
        Assert.All(drills, d => Assert.True(d.Outcome == DrillOutcome.Succeeded, d.Error));
        Assert.All(drills, d => Assert.Equal("every 2", d.Trigger));
        var drill = drills[0];
        Assert.Equal(drill.Expected!.SchemaHash, drill.Actual!.SchemaHash);
        Assert.Equal([new TableRows("customers", 50), new TableRows("orders", 200)], drill.Actual.Tables.OrderBy(t => t.Name));
        Assert.All(runs, r => Assert.True(engine.Restores.IsRestorable(r.Id)));
        Assert.Empty(Directory.GetFiles(Path.Combine(engine.RestoreRoot, "drills")));
    }

    [Fact]
    public async Task A_drill_of_a_damaged_backup_is_recorded_as_failed_and_the_backup_is_then_not_restorable()
    {
        var (engine, _, damaged, _) = await BackedUpAndChangedAsync();
        using var _ = engine;
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        var older = damaged;
        Damage(damaged.File!);

        var drill = await engine.Drills.DrillAsync(damaged, "manual", CancellationToken.None);

        Assert.Equal(DrillOutcome.Failed, drill.Outcome);
        Assert.Contains("SHA-256", drill.Error);
        var recorded = Assert.Single(engine.Restores.ListDrills(backupId: damaged.Id));
        Assert.Equal((drill.Id, DrillOutcome.Failed, drill.Error), (recorded.Id, recorded.Outcome, recorded.Error));
        Assert.False(engine.Restores.IsRestorable(damaged.Id));
        var refused = await RefusedAsync(engine, new RestoreRequest(BackupId: damaged.Id));
        Assert.Equal((409, "Backup not restorable"), (refused.Status, refused.Title));
        Assert.Equal(404, (await RefusedAsync(engine, new RestoreRequest(Schedule: older.Schedule))).Status); // its only backup
    }

    [Fact]
    public async Task A_drill_that_is_cancelled_proves_nothing_and_leaves_the_backup_restorable()
    {
        var (engine, _, backup, _) = await BackedUpAndChangedAsync();
        using var _ = engine;

        var drill = await engine.Drills.DrillAsync(backup, "manual", new CancellationToken(canceled: true));

        Assert.Equal(DrillOutcome.Inconclusive, drill.Outcome);
        Assert.Equal(DrillOutcome.Inconclusive, Assert.Single(engine.Restores.ListDrills(backupId: backup.Id)).Outcome);
        Assert.True(engine.Restores.IsRestorable(backup.Id));
    }

    [Fact]
    public async Task A_drill_finds_a_backup_whose_contents_differ_from_what_was_recorded()
    {
        var (engine, _, backup, _) = await BackedUpAndChangedAsync();
        using var _ = engine;
        var recorded = engine.Restores.GetManifest(backup.Id)!;
        // What was recorded says one row more than the file holds (as if rows went missing between copy and record).
        engine.Restores.SaveManifest(backup.Id, recorded with { Tables = recorded.Tables.Select(t => t.Name == "orders" ? t with { Rows = t.Rows + 1 } : t).ToList() });

        var drill = await engine.Drills.DrillAsync(backup, "manual", CancellationToken.None);

        Assert.Equal(DrillOutcome.Failed, drill.Outcome);
        Assert.Contains("table orders has 200 rows instead of 201", drill.Error);
        Assert.False(engine.Restores.IsRestorable(backup.Id));
    }
}
