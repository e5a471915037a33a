using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;
using static BackupWorker.Tests.DestructiveScenario;

namespace BackupWorker.Tests;

/// <summary>Destructive scenario: the backup root's filesystem fills up during a backup (a 2 MiB tmpfs).</summary>
public class DestructiveFullDiskTests(ITestOutputHelper output)
{
    [DestructiveScenario.TmpfsFact]
    public async Task A_full_disk_fails_the_backup_and_keeps_the_earlier_one()
    {
        var worker = new Worker();
        var disk = Tmpfs.Mount(Path.Combine(worker.DataDirectory, "backups"), "2m");
        try
        {
            await worker.StartAsync();
            var first = await worker.TriggerAsync("nightly", "my-prod-db", "nightly");
            Assert.Equal("Succeeded", first.GetProperty("outcome").GetString());
            // The database grows past what the disk has left.
            using (var app = OpenSqlite(worker.SqliteDatabase))
                Execute(app, "CREATE TABLE ballast(id INTEGER PRIMARY KEY, data BLOB NOT NULL); " +
                    "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 40) INSERT INTO ballast SELECT i, randomblob(100000) FROM n");
            var rowsBefore = SqliteRows.Dump(worker.SqliteDatabase);
            var before = Restorable(worker.DataDirectory, "my-prod-db");

            using var response = await worker.Http.PostAsync("/job/nightly", Payload("my-prod-db", "nightly"));
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            var directory = Path.Combine(worker.DataDirectory, "backups", "nightly");
            var leftAfterFailure = Directory.EnumerateFiles(directory, ".*").Select(Path.GetFileName).ToList();

            await worker.KillAsync();
            await worker.StartAsync();
            var runs = (await worker.Http.GetFromJsonAsync<JsonElement[]>("/runs?schedule=nightly"))!;
            var failed = Assert.Single(runs, r => r.GetProperty("outcome").GetString() != "Succeeded");
            Assert.Equal("Failed", failed.GetProperty("outcome").GetString());
            Assert.Contains("full", failed.GetProperty("error").GetString(), StringComparison.OrdinalIgnoreCase);
            Assert.Empty(Directory.EnumerateFiles(directory, ".*")); // swept at start
            var after = Restorable(worker.DataDirectory, "my-prod-db");
            var lost = rowsBefore.Except(SqliteRows.Dump(worker.SqliteDatabase)).Count();
            Assert.Equal(0, lost);
            Assert.Equal(1, before);
            Assert.Equal(before, after);

            WriteRow(output, "6. disk full during a SQLite backup (2 MiB tmpfs as the backup root, database ~4 MiB)", before, after, lost,
                $"run {Says(failed)}; earlier backup intact; temp files left on the full disk until the next start: {(leftAfterFailure.Count == 0 ? "none" : string.Join(", ", leftAfterFailure.Select(f => f!.Length > 20 ? "…" + f[^20..] : f)))}",
                $"trigger: HTTP {(int)response.StatusCode} \"{problem.GetProperty("title").GetString()}\" (the sidecar retries it); GET /runs: Failed with the reason");
        }
        finally
        {
            await worker.KillAsync();
            await disk.DisposeAsync();
            await worker.DisposeAsync();
        }
    }
}
