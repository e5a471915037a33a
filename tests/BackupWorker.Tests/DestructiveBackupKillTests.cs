using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;
using Xunit.Abstractions;
using static BackupWorker.Tests.DestructiveScenario;

namespace BackupWorker.Tests;

/// <summary>Destructive scenario: the worker is killed (SIGKILL) in the middle of a SQLite backup.</summary>
public class DestructiveBackupKillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Kill_during_a_backup_leaves_the_earlier_backup_and_the_database_and_records_the_run_interrupted()
    {
        await using var worker = await new Worker().StartAsync();
        var first = await worker.TriggerAsync("nightly", "my-prod-db", "nightly");
        Assert.Equal("Succeeded", first.GetProperty("outcome").GetString());
        var before = Restorable(worker.DataDirectory, "my-prod-db");
        var rowsBefore = SqliteRows.Dump(worker.SqliteDatabase);

        // An application's EXCLUSIVE lock on the (rollback-journal) database: the backup's copy steps answer BUSY and
        // wait, so the run is caught with its temp file open, as a large database would be.
        string answer;
        var directory = Path.Combine(worker.DataDirectory, "backups", "nightly");
        using (var hold = OpenSqlite(worker.SqliteDatabase))
        {
            Execute(hold, "BEGIN EXCLUSIVE");
            var trigger = worker.Http.PostAsync("/job/nightly", Payload("my-prod-db", "nightly"));
            await Poll.UntilAsync(async () =>
            {
                var runs = await worker.Http.GetFromJsonAsync<JsonElement[]>("/runs?schedule=nightly");
                return Directory.EnumerateFiles(directory, ".*.partial").Any() && runs!.Any(r => r.GetProperty("outcome").GetString() == "Running");
            }, Bound, "the second backup running with its .partial file");

            await worker.KillAsync();
            answer = await AnswerOrCutAsync(trigger);
            Execute(hold, "ROLLBACK");
        }
        await worker.StartAsync();

        var runsAfter = (await worker.Http.GetFromJsonAsync<JsonElement[]>("/runs?schedule=nightly"))!;
        var interrupted = Assert.Single(runsAfter, r => r.GetProperty("id").GetString() != first.GetProperty("id").GetString());
        Assert.Equal("Failed", interrupted.GetProperty("outcome").GetString());
        Assert.StartsWith("interrupted: the worker stopped during the run", interrupted.GetProperty("error").GetString());
        Assert.Empty(Directory.EnumerateFiles(directory, ".*"));
        var after = Restorable(worker.DataDirectory, "my-prod-db");
        Assert.Equal(1, before);
        Assert.Equal(before, after);
        Assert.Equal(Listed(worker.DataDirectory, "my-prod-db"), after);
        var rowsAfter = SqliteRows.Dump(worker.SqliteDatabase);
        var lost = rowsBefore.Except(rowsAfter).Count();
        Assert.Equal(0, lost);
        // The worker takes backups again.
        Assert.Equal("Succeeded", (await worker.TriggerAsync("nightly", "my-prod-db", "nightly")).GetProperty("outcome").GetString());

        WriteRow(output, "1. kill -9 during a SQLite backup (source held mid-copy, .partial open)", before, after, lost,
            $"run {Says(interrupted)}; .partial swept at start",
            $"trigger: {answer} (the sidecar retries it); GET /runs: Failed, interrupted; GET /backups: the earlier backup");
    }
}
