using System.Net.Http.Json;
using System.Text.Json;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using TestSupport;
using Xunit.Abstractions;
using static BackupWorker.Tests.DestructiveScenario;

namespace BackupWorker.Tests;

/// <summary>Destructive scenario: the worker is killed while retention deletes old backups.</summary>
public class DestructivePruneKillTests(ITestOutputHelper output)
{
    private const int OldBackups = 300;

    [Fact]
    public async Task Kill_during_a_prune_keeps_the_new_backup_and_every_listed_backup_has_its_file()
    {
        await using var worker = await new Worker().StartAsync();
        var paths = new BackupPaths(worker.DataDirectory, worker.DataDirectory);
        var catalog = new BackupCatalog(paths);
        var schedule = catalog.UpsertSchedule(new ScheduleRecord("nightly", "my-prod-db", "nightly", "@daily", null, null, null,
            new RetentionRule(KeepLast: 1, MaxAge: null), DateTimeOffset.UtcNow));
        var firstResponse = await worker.Http.PostAsync("/schedules/nightly/run", null);
        var first = await firstResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Succeeded", first.GetProperty("outcome").GetString());

        // Many older backups of the same schedule instance (copies of the real one, each with its own checksum file),
        // so that retention has a long list to delete and can be caught in the middle of it.
        var file = first.GetProperty("file").GetString()!;
        var checksum = first.GetProperty("checksum").GetString()!;
        var at = first.GetProperty("startedAt").GetDateTimeOffset();
        for (var i = 1; i <= OldBackups; i++)
        {
            var id = Guid.NewGuid().ToString("N");
            var copy = Path.Combine(Path.GetDirectoryName(file)!, $"my-prod-db-old-{i:0000}-{id[..12]}.db");
            File.Copy(file, copy);
            File.WriteAllText(copy + ".sha256", $"{checksum}  {Path.GetFileName(copy)}\n");
            catalog.InsertRun(new BackupRun(id, "nightly", "my-prod-db", "job", at.AddMinutes(-i), at.AddMinutes(-i), new FileInfo(copy).Length, checksum, copy,
                RunOutcome.Succeeded, null, null, schedule.Instance));
        }
        var before = Restorable(worker.DataDirectory, "my-prod-db");
        var rowsBefore = SqliteRows.Dump(worker.SqliteDatabase);

        // Once retention has removed its first backup, the catalog's write lock is taken: retention's next record of a
        // removal waits for it, so the prune stops there. Once every removal recorded so far has been carried out
        // (logged), the worker is killed: in the middle of the prune, between one removal's record and its files.
        var run = worker.Http.PostAsync("/schedules/nightly/run", null);
        const string removed = "Retention of schedule nightly removed backup";
        await worker.Process.WaitForOutputAsync(l => l.Contains(removed, StringComparison.Ordinal), Bound);
        string answer;
        using (var lockCatalog = OpenSqlite(paths.CatalogFile))
        {
            Execute(lockCatalog, "BEGIN IMMEDIATE");
            var recorded = Scalar(lockCatalog, "SELECT count(*) FROM runs WHERE pruned_at IS NOT NULL");
            var logged = new HashSet<string>();
            await worker.Process.WaitForOutputAsync(l => l.Contains(removed, StringComparison.Ordinal) && logged.Add(l) && logged.Count >= recorded, Bound);
            Assert.True(recorded < OldBackups, "the prune finished before it could be stopped");
            await worker.KillAsync();
            answer = await AnswerOrCutAsync(run);
            Execute(lockCatalog, "ROLLBACK");
        }
        await worker.StartAsync();

        var runs = (await worker.Http.GetFromJsonAsync<JsonElement[]>("/runs?schedule=nightly&limit=2"))!;
        var newest = runs[0];
        Assert.Equal("Succeeded", newest.GetProperty("outcome").GetString());
        Assert.True(File.Exists(newest.GetProperty("file").GetString()));
        var listed = (await worker.Http.GetFromJsonAsync<JsonElement[]>("/backups?database=my-prod-db"))!;
        var ghosts = listed.Where(b => !File.Exists(b.GetProperty("file").GetString())).ToList();
        var unlisted = Directory.EnumerateFiles(Path.Combine(worker.DataDirectory, "backups", "nightly"), "*.db")
            .Count(f => !listed.Any(l => l.GetProperty("file").GetString() == f));
        var after = Restorable(worker.DataDirectory, "my-prod-db");
        Assert.True(after >= 1);
        var lost = rowsBefore.Except(SqliteRows.Dump(worker.SqliteDatabase)).Count();
        Assert.Equal(0, lost);
        string ghostRestore = "none listed";
        if (ghosts.Count > 0)
        {
            using var restore = await worker.Http.PostAsJsonAsync("/restores", new { backupId = ghosts[0].GetProperty("id").GetString(), requestedBy = "destructive" });
            var body = await restore.Content.ReadFromJsonAsync<JsonElement>();
            ghostRestore = restore.StatusCode == System.Net.HttpStatusCode.Accepted
                ? $"a restore of a listed backup without its file: HTTP 202, then {Says(await EndedAsync(worker.Http, $"/restores/{body.GetProperty("id").GetString()}"), 60)}"
                : $"a restore of a listed backup without its file: HTTP {(int)restore.StatusCode} {body.GetProperty("title").GetString()}";
        }
        WriteRow(output, $"3. kill -9 during a prune (keepLast 1, {OldBackups + 1} old backups, killed mid-prune, the catalog's next removal record waiting)",
            before, after, lost,
            $"new run Succeeded; GET /backups lists {listed.Length}, {ghosts.Count} of them without a file; {unlisted} unlisted backup file(s) on disk",
            $"run-now: {answer}; {ghostRestore}");
        // Every record is true: a backup the catalog lists has its file.
        Assert.Empty(ghosts);
    }
}
