using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Schedules;
using Microsoft.Extensions.Logging.Abstractions;
using Shared;

namespace BackupWorker.Tests;

/// <summary>Issue 10, item 4: backups stay in the backup root, retention stays in its schedule instance, files stay private.</summary>
public class BackupConfinementTests
{
    private const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite;
    private const UnixFileMode PrivateDirectory = Private | UnixFileMode.UserExecute;

    /// <summary>A directory outside the engine's backup root (a sibling of its data directory), removed afterwards.</summary>
    private sealed class Outside : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("backupworker-outside-").FullName;
        public string Name => System.IO.Path.GetFileName(Path);
        public void AssertEmpty() => Assert.Empty(Directory.EnumerateFileSystemEntries(Path));
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    /// <summary>Hostile locations; <c>{out}</c> is an absolute directory outside the root, <c>{name}</c> its name beside the root.</summary>
    public static TheoryData<string> Escapes() =>
    [
        "{out}", "{out}/loot", "../../{name}", "../../{name}/loot", "x/../../../{name}/loot", "./../../{name}", "x/../../..",
        "..", "/", "/etc", "//{out}", "\\\\server\\share", "..\\..\\{name}", "C:\\loot", "C:loot", "c:/loot",
        "backups/\0/x", "back\0ups", "backups/\n/x", "", "   ",
        new string('a', 5000), "backups/" + new string('b', 300),
        "link", "link/loot", "link/../link/x", "linked-root-dir/x",
    ];

    private static string Expand(string location, Outside outside) => location.Replace("{out}", outside.Path).Replace("{name}", outside.Name);

    private static void PlantLinks(EngineFixture engine, Outside outside)
    {
        Directory.CreateDirectory(engine.Paths.BackupRoot);
        File.CreateSymbolicLink(Path.Combine(engine.Paths.BackupRoot, "link"), outside.Path);
        File.CreateSymbolicLink(Path.Combine(engine.Paths.BackupRoot, "linked-root-dir"), outside.Path);
    }

    [Theory]
    [MemberData(nameof(Escapes))]
    public async Task A_location_leaving_the_root_is_a_failed_run_that_creates_nothing_outside(string location)
    {
        using var engine = new EngineFixture();
        using var outside = new Outside();
        engine.SeedDemoDatabase();
        PlantLinks(engine, outside);
        var parent = Path.GetDirectoryName(engine.DataDirectory)!;
        var besideRoot = Directory.GetFileSystemEntries(parent).ToHashSet();
        location = Expand(location, outside);

        var run = await engine.Runner.RunAsync("s", new BackupMetadata("my-prod-db", location), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.Null(run.File);
        Assert.Equal(RunOutcome.Failed, engine.Catalog.GetRun(run.Id)!.Outcome);
        outside.AssertEmpty();
        // Nothing new beside the data directory either (other tests may add their own temp directories meanwhile).
        Assert.DoesNotContain(Directory.GetFileSystemEntries(parent), e => !besideRoot.Contains(e) && e.Contains("loot", StringComparison.Ordinal));
        Assert.Empty(engine.Catalog.ListBackups());
        // The worker's own check at schedule creation refuses it too.
        Assert.NotNull(BackupLocationRules.Check(location) ?? engine.Runner.CheckLocation(location));
    }

    [Theory]
    [InlineData("backups/my-prod-db")]
    [InlineData("backups/a.b_c-d/e")]
    [InlineData("nightly")]
    public async Task A_plain_relative_location_is_accepted_everywhere(string location)
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        Assert.Null(BackupLocationRules.Check(location));
        Assert.Null(engine.Runner.CheckLocation(location));
        var run = await engine.Runner.RunAsync("s", new BackupMetadata("my-prod-db", location), "job", CancellationToken.None);
        Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
        Assert.Equal(Path.Combine(engine.Paths.BackupRoot, location), Path.GetDirectoryName(run.File));
    }

    [Fact]
    public async Task A_configured_backup_root_confines_locations_to_it()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        var paths = new BackupPaths(engine.DataDirectory, engine.DataDirectory, "vault");
        Assert.Equal(Path.Combine(engine.DataDirectory, "vault"), paths.BackupRoot);
        Assert.Equal(Path.Combine(engine.DataDirectory, "vault", "x"), paths.ResolveLocation("x"));
        Assert.Throws<BackupLocationException>(() => paths.ResolveLocation(Path.Combine(engine.DataDirectory, "databases")));
        Assert.Throws<BackupLocationException>(() => paths.ResolveLocation("../databases"));
        Assert.Throws<BackupLocationException>(() => paths.ResolveLocation(engine.DataDirectory + "/vault-sibling"));
        await Task.CompletedTask;
    }

    [Fact]
    public async Task For_a_known_schedule_the_catalog_location_wins_and_a_redirected_run_deletes_nothing()
    {
        using var engine = new EngineFixture();
        using var outside = new Outside();
        engine.SeedDemoDatabase();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("nightly", "my-prod-db", "nightly", "@daily", null, null, null, new RetentionRule(1, null), engine.Time.GetUtcNow()));
        var first = await engine.Runner.RunAsync("nightly", new BackupMetadata("my-prod-db", "nightly"), "job", CancellationToken.None);
        engine.Time.Advance(TimeSpan.FromMinutes(1));

        // The job's payload now says elsewhere (e.g. rescheduled straight on the sidecar): the catalog's location is used.
        var redirected = await engine.Runner.RunAsync("nightly", new BackupMetadata("my-prod-db", outside.Path), "job", CancellationToken.None);

        Assert.True(redirected.Outcome == RunOutcome.Succeeded, redirected.Error);
        Assert.Equal(Path.Combine(engine.DataDirectory, "backups", "nightly"), Path.GetDirectoryName(redirected.File));
        outside.AssertEmpty();
        // keepLast 1, but the redirected run applied no retention: the first backup is still there.
        Assert.True(File.Exists(first.File));
        Assert.Equal([redirected.Id, first.Id], engine.Catalog.ListBackups("nightly").Select(b => b.Id));

        // Another database named in the payload: also the schedule's own, also no retention.
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        var otherDb = await engine.Runner.RunAsync("nightly", new BackupMetadata("no-such-db", "nightly"), "job", CancellationToken.None);
        Assert.True(otherDb.Outcome == RunOutcome.Succeeded, otherDb.Error);
        Assert.Equal("my-prod-db", otherDb.Database);
        Assert.Equal(3, engine.Catalog.ListBackups("nightly").Count);

        // A run as the schedule says applies retention again.
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        var normal = await engine.Runner.RunAsync("nightly", new BackupMetadata("my-prod-db", "nightly"), "job", CancellationToken.None);
        Assert.Equal([normal.Id], engine.Catalog.ListBackups("nightly").Select(b => b.Id));
    }

    [Fact]
    public async Task A_deleted_and_recreated_schedule_never_prunes_the_older_ones_backups()
    {
        using var engine = new EngineFixture();
        using var jobs = new InMemoryJobsClient();
        engine.SeedDemoDatabase();
        var service = new ScheduleService(jobs, engine.Catalog, engine.Runner, engine.Time, NullLogger<ScheduleService>.Instance);
        var request = new CreateScheduleRequest("nightly", "my-prod-db", "nightly", "@daily", Retention: new RetentionRequest(5, null));
        await service.CreateAsync(request, CancellationToken.None);
        var old = new List<BackupRun>();
        for (var i = 0; i < 2; i++)
        {
            old.Add((await service.RunNowAsync("nightly", CancellationToken.None))!);
            engine.Time.Advance(TimeSpan.FromMinutes(1));
        }
        Assert.True(await service.DeleteAsync("nightly", CancellationToken.None));

        await service.CreateAsync(request with { Retention = new RetentionRequest(1, null) }, CancellationToken.None);
        var fresh = new List<BackupRun>();
        for (var i = 0; i < 2; i++)
        {
            fresh.Add((await service.RunNowAsync("nightly", CancellationToken.None))!);
            engine.Time.Advance(TimeSpan.FromMinutes(1));
        }

        // The new schedule keeps its newest one; the old schedule's two are untouched.
        Assert.All(old.Concat(fresh), r => Assert.Equal(RunOutcome.Succeeded, r.Outcome));
        Assert.All(old, r => Assert.True(File.Exists(r.File)));
        Assert.All(old, r => Assert.Null(engine.Catalog.GetRun(r.Id)!.PrunedAt));
        Assert.False(File.Exists(fresh[0].File));
        Assert.True(File.Exists(fresh[1].File));
        Assert.Equal([fresh[1].Id, old[1].Id, old[0].Id], engine.Catalog.ListBackups("nightly").Select(b => b.Id));
        Assert.NotEqual(old[0].ScheduleInstance, fresh[0].ScheduleInstance);
    }

    [Fact]
    public async Task Backup_files_are_0600_and_the_directories_it_creates_0700()
    {
        if (OperatingSystem.IsWindows()) return;
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();

        var run = await engine.Runner.RunAsync("s", new BackupMetadata("my-prod-db", "deep/er"), "job", CancellationToken.None);

        Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
        Assert.Equal(Private, File.GetUnixFileMode(run.File!));
        Assert.Equal(Private, File.GetUnixFileMode(run.File + BackupRunner.ChecksumExtension));
        foreach (var directory in new[] { "backups", "backups/deep", "backups/deep/er" })
            Assert.Equal(PrivateDirectory, File.GetUnixFileMode(Path.Combine(engine.DataDirectory, directory)));
        // Only the backup, its checksum and nothing half-written.
        Assert.Equal([Path.GetFileName(run.File!), Path.GetFileName(run.File!) + ".sha256"],
            Directory.GetFiles(Path.GetDirectoryName(run.File)!).Select(Path.GetFileName).Order());
    }

    [Fact]
    public async Task A_failed_checksum_write_leaves_no_backup_behind()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        engine.Runner.ChecksumWriter = (_, _, _) => throw new IOException("No space left on device");

        var run = await engine.Runner.RunAsync("s", new BackupMetadata("my-prod-db", "x"), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.Equal("No space left on device", run.Error);
        Assert.Empty(Directory.GetFileSystemEntries(Path.Combine(engine.DataDirectory, "backups", "x")));
        Assert.Empty(engine.Catalog.ListBackups());
    }

    [Fact]
    public void Partial_leftovers_are_swept_but_not_a_live_runs_file_nor_anything_behind_a_link()
    {
        using var engine = new EngineFixture();
        using var outside = new Outside();
        var directory = Path.Combine(engine.DataDirectory, "backups", "x");
        Directory.CreateDirectory(directory);
        string[] leftovers = [".a.db.partial", ".a.db.sha256.partial", ".a.db.partial-journal"];
        foreach (var name in leftovers) File.WriteAllText(Path.Combine(directory, name), "half");
        File.WriteAllText(Path.Combine(directory, "kept.db"), "whole");
        File.WriteAllText(Path.Combine(directory, "not-hidden.partial"), "someone else's");
        File.WriteAllText(Path.Combine(outside.Path, ".theirs.partial"), "not ours");
        File.CreateSymbolicLink(Path.Combine(engine.DataDirectory, "backups", "link"), outside.Path);
        using var live = BackupFiles.CreatePrivate(Path.Combine(directory, ".live.db.partial"));

        var removed = BackupFiles.SweepPartials(engine.Paths.BackupRoot);

        Assert.Equal(leftovers.Select(n => Path.Combine(directory, n)).Order(), removed.Order());
        Assert.Equal([".live.db.partial", "kept.db", "not-hidden.partial"], Directory.GetFiles(directory).Select(Path.GetFileName).Order());
        Assert.True(File.Exists(Path.Combine(outside.Path, ".theirs.partial")));
    }

    /// <summary>A provider whose backup waits until the test lets it finish.</summary>
    private sealed class GateProvider : IDatabaseBackupProvider
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public string Provider => "gate";
        public string FileExtension => ".bin";

        public async Task BackupAsync(string databaseName, DatabaseOptions database, string targetFile, CancellationToken cancellationToken)
        {
            Started.TrySetResult();
            await Release.Task.WaitAsync(TimeSpan.FromSeconds(30), cancellationToken);
            await File.WriteAllTextAsync(targetFile, "backup", cancellationToken);
        }

        public Task VerifyAsync(string backupFile, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    [Fact]
    public async Task A_trigger_during_a_run_of_its_schedule_waits_its_turn_and_run_now_answers_409()
    {
        var gate = new GateProvider();
        using var engine = new EngineFixture(o => o.Databases["gated"] = new DatabaseOptions { Provider = "gate" }, gate);
        using var jobs = new InMemoryJobsClient();
        var service = new ScheduleService(jobs, engine.Catalog, engine.Runner, engine.Time, NullLogger<ScheduleService>.Instance);
        await service.CreateAsync(new CreateScheduleRequest("g", "gated", "g", "@every 1m"), CancellationToken.None);
        var handler = new BackupJobHandler(engine.Runner, engine.Time, NullLogger<BackupJobHandler>.Instance, engine.Telemetry);
        var payload = BackupPayload.ForDatabase("gated", "g").ToUtf8Json();

        var first = handler.HandleAsync("g", payload, CancellationToken.None);
        await gate.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // A second trigger, of a later tick (the first run does not cover it), waits for its turn (refusing it would
        // be a failed delivery, retried and in the end dropped).
        engine.Time.Advance(TimeSpan.FromMinutes(2));
        var trigger = handler.HandleAsync("g", payload, CancellationToken.None);
        var runNow = await Assert.ThrowsAsync<ScheduleProblemException>(() => service.RunNowAsync("g", CancellationToken.None));
        Assert.Equal(409, runNow.Status);
        await Assert.ThrowsAsync<ScheduleBusyException>(() => engine.Runner.RunAsync("g", new BackupMetadata("gated", "g"), "job", CancellationToken.None));
        Assert.Single(engine.Catalog.ListRuns("g")); // Refusals record nothing.

        Assert.False(trigger.IsCompleted, "the trigger cannot have run while the first run holds the schedule");

        gate.Release.SetResult();
        Assert.IsType<Microsoft.AspNetCore.Http.HttpResults.Ok<BackupRun>>(await first.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.IsType<Microsoft.AspNetCore.Http.HttpResults.Ok<BackupRun>>(await trigger.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Equal(2, engine.Catalog.ListRuns("g").Count(r => r.Outcome == RunOutcome.Succeeded));
        // Once it is over, the schedule runs again.
        var again = await service.RunNowAsync("g", CancellationToken.None);
        Assert.Equal(RunOutcome.Succeeded, again!.Outcome);
    }

    [Fact]
    public async Task A_run_lock_held_by_another_process_refuses_the_run()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        // What another worker process on the same data directory holds while it runs "s": the lock file, flock'ed.
        Directory.CreateDirectory(engine.Paths.LockDirectory);
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes("s")))[..32];
        using (new FileStream(Path.Combine(engine.Paths.LockDirectory, hash + ".lock"), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None))
        {
            await Assert.ThrowsAsync<ScheduleBusyException>(() => engine.Runner.RunAsync("s", new BackupMetadata("my-prod-db", "s"), "job", CancellationToken.None));
            Assert.Empty(engine.Catalog.ListRuns("s"));
        }
        var run = await engine.Runner.RunAsync("s", new BackupMetadata("my-prod-db", "s"), "job", CancellationToken.None);
        Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
    }

    [Fact]
    public async Task Runs_of_different_schedules_do_not_wait_for_each_other()
    {
        var gate = new GateProvider();
        using var engine = new EngineFixture(o => o.Databases["gated"] = new DatabaseOptions { Provider = "gate" }, gate);
        engine.SeedDemoDatabase();
        var slow = engine.Runner.RunAsync("slow", new BackupMetadata("gated", "g"), "job", CancellationToken.None);
        await gate.Started.Task.WaitAsync(TimeSpan.FromSeconds(30));

        var other = await engine.Runner.RunAsync("other", new BackupMetadata("my-prod-db", "o"), "job", CancellationToken.None);

        Assert.True(other.Outcome == RunOutcome.Succeeded, other.Error);
        gate.Release.SetResult();
        Assert.Equal(RunOutcome.Succeeded, (await slow.WaitAsync(TimeSpan.FromSeconds(30))).Outcome);
    }
}
