using BackupWorker.Backups;
using BackupWorker.Schedules;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupWorker.Tests;

/// <summary>The backup root, the restore root, the catalog and the databases stay apart; backups default to &lt;data&gt;/backups.</summary>
public class RootsTests
{
    [Theory]
    [InlineData("Backup__BackupRoot", ".", "", "restores")] // the old default: backups among restores and databases
    [InlineData("Backup__RestoreRoot", "backups/restores", "backups", "backups/restores")]
    [InlineData("Backup__RestoreRoot", "", "backups", "")] // restores straight into the data directory, as the restore service reads it
    [InlineData("Backup__Databases__orders__ConnectionString", "Data Source=restores/orders.db", "restores", "restores/orders.db")]
    [InlineData("Backup__BackupRoot", "alias", "alias", "restores")] // <data>/alias is a link to <data>/restores
    public async Task Overlapping_roots_refuse_the_start_naming_both_paths_and_write_nothing(string setting, string value, string first, string second)
    {
        await using var worker = StartedWorker.Launch(
            data => Directory.CreateSymbolicLink(Path.Combine(data, "alias"), Path.Combine(data, "restores")),
            new Dictionary<string, string?> { [setting] = value });

        var line = await worker.Process.WaitForOutputAsync(
            l => l.Contains("Application started", StringComparison.Ordinal) || l.Contains("cannot start", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        Assert.Contains("cannot start", line);
        Assert.NotEqual(0, await worker.Process.WaitForExitAsync(TimeSpan.FromSeconds(60)));

        var output = string.Join('\n', worker.Process.Output);
        Assert.Contains($"'{Path.TrimEndingDirectorySeparator(Path.Combine(worker.DataDirectory, first))}'", output);
        Assert.Contains($"'{Path.Combine(worker.DataDirectory, second)}'", output);
        Assert.False(File.Exists(Path.Combine(worker.DataDirectory, "catalog.db")));
        Assert.False(Directory.Exists(Path.Combine(worker.DataDirectory, "locks")));
    }

    [Fact]
    public async Task A_location_inside_the_restore_root_or_over_a_database_is_refused_400_and_fails_a_trigger()
    {
        // Roots that overlap (the start refuses them; here nothing checks them): the location check alone must hold.
        using var engine = new EngineFixture(o => o.BackupRoot = o.DataDirectory);
        engine.SeedDemoDatabase();
        using var jobs = new InMemoryJobsClient();
        var service = new ScheduleService(jobs, engine.Catalog, engine.Runner, engine.Time, NullLogger<ScheduleService>.Instance);

        var refused = await Assert.ThrowsAsync<ScheduleProblemException>(() =>
            service.CreateAsync(new CreateScheduleRequest("nightly", "my-prod-db", "restores/safety-copies", "@daily"), CancellationToken.None));
        Assert.Equal(400, refused.Status);
        Assert.Contains("restore root", Assert.Single(refused.Errors!["location"]));
        Assert.Null(engine.Catalog.GetSchedule("nightly"));

        var intoRestores = await engine.Runner.RunAsync("t", new BackupMetadata("my-prod-db", "restores/x"), "job", CancellationToken.None);
        var overDatabases = await engine.Runner.RunAsync("u", new BackupMetadata("my-prod-db", "databases"), "job", CancellationToken.None);
        var overEverything = await engine.Runner.RunAsync("v", new BackupMetadata("my-prod-db", "."), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Failed, intoRestores.Outcome);
        Assert.Contains("restore root", intoRestores.Error);
        Assert.Equal(RunOutcome.Failed, overDatabases.Outcome);
        Assert.Contains("database 'my-prod-db'", overDatabases.Error);
        Assert.Equal(RunOutcome.Failed, overEverything.Outcome);
        Assert.False(Directory.Exists(Path.Combine(engine.DataDirectory, "restores")));
        Assert.Equal(["my-prod-db.db"], Directory.GetFiles(Path.Combine(engine.DataDirectory, "databases")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task By_default_a_schedule_backs_up_to_its_database_under_data_backups()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        using var jobs = new InMemoryJobsClient();
        var service = new ScheduleService(jobs, engine.Catalog, engine.Runner, engine.Time, NullLogger<ScheduleService>.Instance);

        var view = await service.CreateAsync(new CreateScheduleRequest("nightly", "my-prod-db", null, "@daily"), CancellationToken.None);
        var run = await service.RunNowAsync("nightly", CancellationToken.None);

        Assert.Equal("my-prod-db", view.Location);
        Assert.Equal(RunOutcome.Succeeded, run!.Outcome);
        Assert.Equal(Path.Combine(engine.DataDirectory, "backups", "my-prod-db"), Path.GetDirectoryName(run.File));
    }

    [Fact]
    public async Task A_trigger_location_lands_under_data_backups()
    {
        await using var worker = await StartedWorker.StartAsync();

        using var response = await worker.Http.PostAsync("/job/prod-db-backup", new StringContent(
            """{"task":"db-backup","metadata":{"DBName":"my-prod-db","BackupLocation":"my-prod-db"}}""", System.Text.Encoding.UTF8, "application/json"));

        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var file = (await System.Net.Http.Json.HttpContentJsonExtensions.ReadFromJsonAsync<System.Text.Json.JsonElement>(response.Content)).GetProperty("file").GetString();
        Assert.Equal(Path.Combine(worker.DataDirectory, "backups", "my-prod-db"), Path.GetDirectoryName(file));
    }

    [Fact]
    public async Task Temp_files_and_their_sqlite_side_files_are_swept_from_both_roots_at_start_unless_a_live_process_holds_them()
    {
        string[] swept =
        [
            "backups/x/.my-prod-db-1.db.partial", "backups/x/.my-prod-db-1.db.partial-wal", "backups/x/.my-prod-db-1.db.partial-shm",
            "backups/x/.my-prod-db-1.db.partial-journal", "backups/x/.orphan.db.partial-wal",
            "restores/drills/.drill-0123456789ab.db.partial", "restores/drills/.drill-0123456789ab.db.partial-wal", "restores/drills/.drill-0123456789ab.db.partial-shm",
            "restores/my-prod-db/.t.db.restoring-0123456789ab.partial",
        ];
        string[] kept = ["backups/x/kept.db", "backups/x/kept.db-wal", "restores/safety-copies/s.db", "backups/y/.live.db.partial", "backups/y/.live.db.partial-journal"];
        FileStream? live = null;
        try
        {
            await using var worker = await StartedWorker.StartAsync(data =>
            {
                foreach (var file in swept.Concat(kept))
                {
                    Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(data, file))!);
                    File.WriteAllText(Path.Combine(data, file), "left behind");
                }
                // Held the way a run holds its temp file (a shared lock), as a live worker elsewhere would.
                live = new FileStream(Path.Combine(data, "backups/y/.live.db.partial"), FileMode.Open, FileAccess.ReadWrite, FileShare.ReadWrite);
            });

            Assert.All(swept, f => Assert.False(File.Exists(Path.Combine(worker.DataDirectory, f)), f));
            Assert.All(kept, f => Assert.True(File.Exists(Path.Combine(worker.DataDirectory, f)), f));
            await worker.Process.WaitForOutputAsync(l => l.Contains("Removed 5 partial backup file(s)", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
            await worker.Process.WaitForOutputAsync(l => l.Contains("Removed 4 partial backup file(s)", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
        }
        finally
        {
            live?.Dispose();
        }
    }

    [Fact]
    public void With_another_worker_alive_a_temp_file_sqlite_may_have_open_is_left_with_its_side_files()
    {
        var root = Directory.CreateTempSubdirectory("backupworker-sweep-").FullName;
        try
        {
            string[] files = [".drill-1.db.partial", ".drill-1.db.partial-wal", ".drill-1.db.partial-shm"];
            foreach (var file in files) File.WriteAllText(Path.Combine(root, file), "in use");
            File.WriteAllText(Path.Combine(root, ".plain.db.partial"), "left behind");

            var removed = BackupFiles.SweepPartials(root, alone: false);

            Assert.Equal([Path.Combine(root, ".plain.db.partial")], removed);
            Assert.All(files, f => Assert.True(File.Exists(Path.Combine(root, f)), f));
        }
        finally
        {
            Directory.Delete(root, recursive: true);
        }
    }
}
