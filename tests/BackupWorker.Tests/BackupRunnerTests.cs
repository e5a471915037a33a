using System.Security.Cryptography;
using BackupWorker.Backups;

namespace BackupWorker.Tests;

public class BackupRunnerTests
{
    private static BackupMetadata Target(string location = "my-prod-db", string db = "my-prod-db") => new(db, location);

    [Fact]
    public async Task Sqlite_backup_restores_row_for_row_with_checksum_and_catalog_entry()
    {
        using var engine = new EngineFixture();
        var source = engine.SeedDemoDatabase();

        var run = await engine.Runner.RunAsync("prod-db-backup", Target(), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Succeeded, run.Outcome);
        Assert.NotNull(run.File);
        Assert.StartsWith(Path.Combine(engine.DataDirectory, "backups", "my-prod-db") + Path.DirectorySeparatorChar, run.File);
        var sourceRows = SqliteRows.Dump(source);
        Assert.Equal(250, sourceRows.Count);
        Assert.Equal(sourceRows, SqliteRows.Dump(run.File!));

        var bytes = await File.ReadAllBytesAsync(run.File!);
        var expected = Convert.ToHexStringLower(SHA256.HashData(bytes));
        Assert.Equal(expected, run.Checksum);
        Assert.Equal(bytes.Length, run.Bytes);
        Assert.Equal($"{expected}  {Path.GetFileName(run.File)}\n", await File.ReadAllTextAsync(run.File + ".sha256"));

        var recorded = Assert.Single(engine.Catalog.ListRuns());
        Assert.Equal(run with { }, recorded);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(run.File)!, "*.partial"));
    }

    [Fact]
    public async Task Integrity_failure_is_a_failed_run_and_leaves_no_backup()
    {
        using var engine = new EngineFixture();
        var source = engine.SeedDemoDatabase();
        // Turn the first table page's b-tree header into garbage: the online backup copies pages as they are,
        // so only the integrity check on the copy can notice.
        await using (var stream = new FileStream(source, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = 4096 + 8;
            stream.Write(Enumerable.Repeat((byte)0xEE, 64).ToArray());
        }

        var run = await engine.Runner.RunAsync("prod-db-backup", Target(), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.Contains("Integrity check of the backup failed", run.Error);
        Assert.Null(run.File);
        Assert.Empty(Directory.GetFiles(Path.Combine(engine.DataDirectory, "backups", "my-prod-db")));
        Assert.Equal(RunOutcome.Failed, engine.Catalog.GetRun(run.Id)!.Outcome);
    }

    [Fact]
    public async Task Unknown_database_is_a_recorded_failed_run()
    {
        using var engine = new EngineFixture();

        var run = await engine.Runner.RunAsync("nightly", Target(db: "no-such-db"), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.Equal("Unknown database 'no-such-db': no Backup:Databases:no-such-db is configured (configured: my-prod-db).", run.Error);
        var recorded = engine.Catalog.GetRun(run.Id)!;
        Assert.Equal("nightly", recorded.Schedule);
        Assert.Equal(RunOutcome.Failed, recorded.Outcome);
        Assert.NotNull(recorded.EndedAt);
    }

    [Fact]
    public async Task Missing_sqlite_file_fails_clearly_and_is_not_created()
    {
        using var engine = new EngineFixture();
        var run = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);
        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.Contains("does not exist", run.Error);
        Assert.False(File.Exists(Path.Combine(engine.DataDirectory, "databases", "my-prod-db.db")));
    }

    [Fact]
    public async Task Absolute_location_inside_the_backup_root_is_honoured()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        var inside = Path.Combine(engine.Paths.BackupRoot, "abs", "here");

        var run = await engine.Runner.RunAsync("s", Target(location: inside), "job", CancellationToken.None);

        Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
        Assert.Equal(inside, Path.GetDirectoryName(run.File));
    }

    [Fact]
    public async Task Two_concurrent_runs_of_one_schedule_are_one_backup_and_one_refusal()
    {
        using var engine = new EngineFixture();
        var source = engine.SeedDemoDatabase();
        var expected = SqliteRows.Dump(source);

        var outcomes = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => Task.Run(async () =>
        {
            try { return await engine.Runner.RunAsync("prod-db-backup", Target(), "job", CancellationToken.None); }
            catch (ScheduleBusyException) { return null; }
        })));

        // Either the second was refused while the first ran, or it started after the first had finished.
        var runs = outcomes.OfType<BackupRun>().ToList();
        Assert.NotEmpty(runs);
        Assert.All(runs, r => Assert.Equal(RunOutcome.Succeeded, r.Outcome));
        Assert.All(runs, r => Assert.Equal(expected, SqliteRows.Dump(r.File!)));
        Assert.Equal(runs.Count, engine.Catalog.ListBackups("prod-db-backup").Count);
        Assert.Equal(runs.Count, engine.Catalog.ListRuns("prod-db-backup").Count);
    }

    [Fact]
    public async Task Retention_keeps_the_newest_n()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("s", "my-prod-db", "my-prod-db", "@every 1m", null, null, null, new RetentionRule(2, null), engine.Time.GetUtcNow()));

        var runs = new List<BackupRun>();
        for (var i = 0; i < 4; i++)
        {
            runs.Add(await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None));
            engine.Time.Advance(TimeSpan.FromMinutes(1));
        }

        var kept = engine.Catalog.ListBackups("s");
        Assert.Equal([runs[3].Id, runs[2].Id], kept.Select(b => b.Id));
        Assert.All(runs.Take(2), r => Assert.False(File.Exists(r.File)));
        Assert.All(runs.Take(2), r => Assert.False(File.Exists(r.File + ".sha256")));
        Assert.All(runs.Skip(2), r => Assert.True(File.Exists(r.File)));
        Assert.All(runs.Take(2), r => Assert.NotNull(engine.Catalog.GetRun(r.Id)!.PrunedAt));
    }

    [Fact]
    public async Task Retention_removes_backups_older_than_max_age()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("s", "my-prod-db", "my-prod-db", "@hourly", null, null, null, new RetentionRule(null, TimeSpan.FromHours(1)), engine.Time.GetUtcNow()));

        var old = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);
        engine.Time.Advance(TimeSpan.FromMinutes(30));
        var middle = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);
        Assert.True(File.Exists(old.File)); // 30 min old: within the hour.
        engine.Time.Advance(TimeSpan.FromMinutes(45));
        var fresh = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);

        Assert.False(File.Exists(old.File));
        Assert.True(File.Exists(middle.File));
        Assert.True(File.Exists(fresh.File));
        Assert.Equal([fresh.Id, middle.Id], engine.Catalog.ListBackups("s").Select(b => b.Id));
    }

    [Fact]
    public async Task Failed_runs_do_not_trigger_retention()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        // Three backups made under a looser rule, then the rule tightened to keep one: two are now over the limit.
        SetRetention(engine, "s", "my-prod-db", new RetentionRule(3, null));
        var older = await RunEveryMinuteAsync(engine, "s", Target(), 3);
        SetRetention(engine, "s", "my-prod-db", new RetentionRule(1, null));

        // The database file gone for a moment: the run fails (a payload naming another database would not do: the
        // schedule's catalog row decides what it backs up).
        var source = Path.Combine(engine.DataDirectory, "databases", "my-prod-db.db");
        File.Move(source, source + ".away");
        var bad = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);
        File.Move(source + ".away", source);

        Assert.Equal(RunOutcome.Failed, bad.Outcome);
        Assert.Equal(older.Select(r => r.Id).Reverse(), engine.Catalog.ListBackups("s").Select(b => b.Id));
        Assert.All(older, r => Assert.True(File.Exists(r.File)));

        // The next successful run does apply it, so the rule above could have deleted them: the newest alone is kept.
        var good = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);
        Assert.Equal([good.Id], engine.Catalog.ListBackups("s").Select(b => b.Id));
        Assert.All(older, r => Assert.False(File.Exists(r.File)));
        Assert.True(File.Exists(good.File));
    }

    [Fact]
    public async Task Retention_of_one_schedule_never_deletes_another_schedules_backups_in_the_same_location()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        const string shared = "shared";
        SetRetention(engine, "hourly", shared, new RetentionRule(1, null));
        SetRetention(engine, "daily", shared, new RetentionRule(2, TimeSpan.FromDays(7)));

        // Interleaved, one minute apart, same database, same directory.
        var runs = new List<BackupRun>();
        foreach (var schedule in new[] { "daily", "hourly", "daily", "hourly", "daily", "hourly" })
            runs.AddRange(await RunEveryMinuteAsync(engine, schedule, Target(location: shared), 1));
        var daily = runs.Where(r => r.Schedule == "daily").ToList();
        var hourly = runs.Where(r => r.Schedule == "hourly").ToList();

        Assert.Equal([hourly[2].Id], engine.Catalog.ListBackups("hourly").Select(b => b.Id));
        Assert.Equal([daily[2].Id, daily[1].Id], engine.Catalog.ListBackups("daily").Select(b => b.Id));
        // On disk too: exactly the kept backups of both schedules, each with its checksum file.
        string[] kept = [hourly[2].File!, daily[2].File!, daily[1].File!];
        Assert.Equal(kept.SelectMany(f => new[] { f, f + BackupRunner.ChecksumExtension }).Order(),
            Directory.GetFiles(Path.Combine(engine.DataDirectory, "backups", "shared")).Order());
    }

    [Fact]
    public async Task KeepLast_and_maxAge_together_delete_what_either_rule_allows_no_more()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        SetRetention(engine, "s", "my-prod-db", new RetentionRule(3, TimeSpan.FromHours(1)));

        var a = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);          // 0 min
        engine.Time.Advance(TimeSpan.FromMinutes(30));
        var b = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);          // 30 min
        engine.Time.Advance(TimeSpan.FromMinutes(10));
        var c = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);          // 40 min
        engine.Time.Advance(TimeSpan.FromMinutes(10));
        var d = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);          // 50 min
        // keepLast alone: a is 50 min old, within maxAge, but the fourth newest.
        Assert.Equal([d.Id, c.Id, b.Id], engine.Catalog.ListBackups("s").Select(r => r.Id));
        Assert.False(File.Exists(a.File));

        engine.Time.Advance(TimeSpan.FromMinutes(55));
        var e = await engine.Runner.RunAsync("s", Target(), "job", CancellationToken.None);          // 105 min
        // maxAge alone: c (65 min old) is among the newest three but too old; d (55 min) stays.
        Assert.Equal([e.Id, d.Id], engine.Catalog.ListBackups("s").Select(r => r.Id));
        Assert.All([b, c], r => Assert.False(File.Exists(r.File)));
        Assert.All([d, e], r => Assert.True(File.Exists(r.File)));
    }

    /// <summary>Sets the rule of the schedule's live instance (a new instance when there is none).</summary>
    private static void SetRetention(EngineFixture engine, string schedule, string location, RetentionRule rule) =>
        engine.Catalog.UpsertSchedule(new ScheduleRecord(schedule, "my-prod-db", location, "@hourly", null, null, null, rule, engine.Time.GetUtcNow(),
            engine.Catalog.GetSchedule(schedule)?.Instance));

    /// <summary>Runs <paramref name="count"/> backups of the schedule, advancing the clock a minute after each (so they are ordered).</summary>
    private static async Task<List<BackupRun>> RunEveryMinuteAsync(EngineFixture engine, string schedule, BackupMetadata target, int count)
    {
        var runs = new List<BackupRun>();
        for (var i = 0; i < count; i++)
        {
            var run = await engine.Runner.RunAsync(schedule, target, "job", CancellationToken.None);
            Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
            runs.Add(run);
            engine.Time.Advance(TimeSpan.FromMinutes(1));
        }
        return runs;
    }

    [Fact]
    public async Task Missing_pg_dump_is_a_clear_failure()
    {
        using var engine = new EngineFixture(o =>
        {
            o.PgDumpPath = "/nonexistent/bin/pg_dump";
            o.Databases["pg"] = new Hosting.DatabaseOptions { Provider = "postgres", ConnectionString = "Host=127.0.0.1;Port=1;Username=postgres" };
        });

        var run = await engine.Runner.RunAsync("s", Target(db: "pg"), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.StartsWith("pg_dump was not found ('/nonexistent/bin/pg_dump')", run.Error);
    }

    [Fact]
    public async Task Unreachable_postgres_server_is_a_clear_failure()
    {
        if (!File.Exists("/usr/bin/pg_dump")) throw new InvalidOperationException("pg_dump is not installed (apt-get install postgresql-client); test.sh installs it.");
        var port = TestSupport.FreePort.Next();
        using var engine = new EngineFixture(o =>
            o.Databases["pg"] = new Hosting.DatabaseOptions { Provider = "postgres", ConnectionString = $"Host=127.0.0.1;Port={port};Username=postgres;Database=app" });

        var run = await engine.Runner.RunAsync("s", Target(db: "pg"), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.StartsWith("pg_dump of 'pg' failed (exit code 1):", run.Error);
        Assert.Contains("Connection refused", run.Error);
    }
}
