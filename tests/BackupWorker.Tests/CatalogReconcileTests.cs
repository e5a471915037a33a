using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Restore;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupWorker.Tests;

/// <summary>At start the catalog is made to agree with the files: nothing stays "Running" that no worker runs.</summary>
public class CatalogReconcileTests
{
    private static readonly DateTimeOffset Started = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    private enum Left { Intact, ChecksumAtTempName, NoFile, NoChecksum, Damaged, NoFileNamed }

    /// <summary>A run row left "Running" by a worker that stopped, with its files as <paramref name="left"/> says.</summary>
    private static (string Id, string File) LeaveRunning(string data, string schedule, Left left)
    {
        var paths = new BackupPaths(data, data);
        var id = Guid.NewGuid().ToString("N");
        var directory = Path.Combine(data, "backups", schedule);
        Directory.CreateDirectory(directory);
        var name = $"my-prod-db-{Started.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{id[..12]}.db";
        var file = Path.Combine(directory, name);
        new BackupCatalog(paths).InsertRun(new BackupRun(id, schedule, "my-prod-db", "job", Started, null, null, null,
            left == Left.NoFileNamed ? null : file, RunOutcome.Running, null, null));
        if (left is Left.NoFile or Left.NoFileNamed) return (id, file);
        var content = RandomNumberGenerator.GetBytes(10_000);
        File.WriteAllBytes(file, content);
        var checksum = Convert.ToHexStringLower(SHA256.HashData(content));
        if (left == Left.Damaged) File.WriteAllBytes(file, content[..5_000]);
        if (left == Left.ChecksumAtTempName) File.WriteAllText(Path.Combine(directory, $".{name}.sha256.partial"), $"{checksum}  {name}\n");
        else if (left != Left.NoChecksum) File.WriteAllText(file + ".sha256", $"{checksum}  {name}\n");
        return (id, file);
    }

    private static async Task<JsonElement> RunAsync(StartedWorker worker, string schedule) =>
        Assert.Single((await worker.Http.GetFromJsonAsync<JsonElement[]>($"/runs?schedule={schedule}"))!);

    [Fact]
    public async Task A_run_left_running_with_its_backup_intact_is_recorded_succeeded_at_start()
    {
        (string Id, string File) intact = default, renamedHalfway = default;
        await using var worker = await StartedWorker.StartAsync(data =>
        {
            intact = LeaveRunning(data, "nightly", Left.Intact);
            renamedHalfway = LeaveRunning(data, "hourly", Left.ChecksumAtTempName);
        });

        foreach (var (schedule, (id, file)) in new[] { ("nightly", intact), ("hourly", renamedHalfway) })
        {
            var run = await RunAsync(worker, schedule);
            Assert.Equal(id, run.GetProperty("id").GetString());
            Assert.Equal("Succeeded", run.GetProperty("outcome").GetString());
            Assert.Equal(file, run.GetProperty("file").GetString());
            Assert.Equal(10_000, run.GetProperty("bytes").GetInt64());
            Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file))), run.GetProperty("checksum").GetString());
            Assert.Equal(JsonValueKind.String, run.GetProperty("endedAt").ValueKind);
            Assert.StartsWith("recovered at start: ", run.GetProperty("error").GetString());
            Assert.True(File.Exists(file + ".sha256"));
        }
        var backups = await worker.Http.GetFromJsonAsync<JsonElement[]>("/backups");
        Assert.Equal(2, backups!.Length);
    }

    [Fact]
    public async Task Runs_restores_and_drills_left_running_without_a_complete_backup_are_recorded_interrupted_at_start()
    {
        string restoreId = Guid.NewGuid().ToString("N"), drillId = Guid.NewGuid().ToString("N");
        await using var worker = await StartedWorker.StartAsync(data =>
        {
            foreach (var left in new[] { Left.NoFile, Left.NoChecksum, Left.Damaged, Left.NoFileNamed }) LeaveRunning(data, left.ToString().ToLowerInvariant(), left);
            var restores = new RestoreCatalog(new BackupPaths(data, data));
            restores.UpsertRestore(new RestoreRecord(restoreId, "b", "nightly", "my-prod-db", "sqlite", Path.Combine(data, "restores", "x.db"), false, null, "ops", Started, null, RunOutcome.Running, null));
            restores.UpsertDrill(new DrillRecord(drillId, "b", "nightly", "my-prod-db", "job", Started, null, DrillOutcome.Running, null, null, null));
        });

        foreach (var left in new[] { Left.NoFile, Left.NoChecksum, Left.Damaged, Left.NoFileNamed })
        {
            var run = await RunAsync(worker, left.ToString().ToLowerInvariant());
            Assert.Equal("Failed", run.GetProperty("outcome").GetString());
            Assert.StartsWith("interrupted: the worker stopped during the run", run.GetProperty("error").GetString());
            Assert.Equal(JsonValueKind.String, run.GetProperty("endedAt").ValueKind);
            Assert.Equal(JsonValueKind.Null, run.GetProperty("file").ValueKind);
        }
        Assert.Empty((await worker.Http.GetFromJsonAsync<JsonElement[]>("/backups"))!);
        var restore = await worker.Http.GetFromJsonAsync<JsonElement>($"/restores/{restoreId}");
        Assert.Equal("Failed", restore.GetProperty("outcome").GetString());
        Assert.StartsWith("interrupted", restore.GetProperty("error").GetString());
        var drill = Assert.Single((await worker.Http.GetFromJsonAsync<JsonElement[]>("/drills"))!);
        // A drill that could not finish proves nothing about its backup: cancelled, not failed (which would mark it not restorable).
        Assert.Equal("Inconclusive", drill.GetProperty("outcome").GetString());
        Assert.StartsWith("interrupted", drill.GetProperty("error").GetString());
    }

    [Fact]
    public async Task A_run_whose_success_the_catalog_cannot_record_is_not_answered_succeeded_and_is_recovered_at_the_next_start()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        using (var connection = new SqliteConnection($"Data Source={engine.Paths.CatalogFile};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "CREATE TRIGGER refuse_success BEFORE UPDATE ON runs WHEN NEW.outcome = 'Succeeded' BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END";
            command.ExecuteNonQuery();
        }

        var run = await engine.Runner.RunAsync("nightly", new BackupMetadata("my-prod-db", "nightly"), "job", CancellationToken.None);

        Assert.NotEqual(RunOutcome.Succeeded, run.Outcome);
        Assert.Contains("disk I/O error", run.Error);
        var row = engine.Catalog.GetRun(run.Id)!;
        Assert.Equal(RunOutcome.Running, row.Outcome);
        Assert.True(File.Exists(row.File), "the backup is kept for the next start to record");

        using (var connection = new SqliteConnection($"Data Source={engine.Paths.CatalogFile};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "DROP TRIGGER refuse_success";
            command.ExecuteNonQuery();
        }
        Reconciler(engine).Reconcile(alone: true);

        var recovered = engine.Catalog.GetRun(run.Id)!;
        Assert.Equal(RunOutcome.Succeeded, recovered.Outcome);
        Assert.Equal(run.Checksum, recovered.Checksum);
        Assert.Equal(run.Bytes, recovered.Bytes);
        Assert.Equal(Assert.Single(engine.Catalog.ListBackups()).Id, run.Id);
    }

    [Fact]
    public void A_live_run_and_another_workers_recent_restore_are_left_running()
    {
        using var engine = new EngineFixture();
        var live = new BackupRun(Guid.NewGuid().ToString("N"), "busy", "my-prod-db", "job", engine.Time.GetUtcNow(), null, null, null, null, RunOutcome.Running, null, null);
        engine.Catalog.InsertRun(live);
        engine.Restores.UpsertRestore(new RestoreRecord("recent", "b", "busy", "my-prod-db", "sqlite", "t", false, null, "ops", engine.Time.GetUtcNow(), null, RunOutcome.Running, null));
        engine.Restores.UpsertRestore(new RestoreRecord("old", "b", "busy", "my-prod-db", "sqlite", "t", false, null, "ops",
            engine.Time.GetUtcNow() - engine.Options.RestoreTimeout - TimeSpan.FromHours(1), null, RunOutcome.Running, null));

        using (ScheduleRunLock.TryAcquire(engine.Paths, "busy")) Reconciler(engine).Reconcile(alone: false);

        Assert.Equal(RunOutcome.Running, engine.Catalog.GetRun(live.Id)!.Outcome);
        Assert.Equal(RunOutcome.Running, engine.Restores.GetRestore("recent")!.Outcome);
        Assert.Equal(RunOutcome.Failed, engine.Restores.GetRestore("old")!.Outcome);
    }

    [Fact]
    public async Task While_the_worker_runs_what_a_stopped_replica_left_running_is_ended_each_interval()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        var backup = await engine.Runner.RunAsync("nightly", new BackupMetadata("my-prod-db", "nightly"), "job", CancellationToken.None);
        Assert.Equal(RunOutcome.Succeeded, backup.Outcome);
        // A replica that stopped left a run of another schedule (its lock went with it) and a drill of the backup.
        var now = engine.Time.GetUtcNow();
        var run = new BackupRun(Guid.NewGuid().ToString("N"), "hourly", "my-prod-db", "job", now, null, null, null, null, RunOutcome.Running, null, null);
        engine.Catalog.InsertRun(run);
        engine.Restores.UpsertDrill(new DrillRecord("left", backup.Id, "nightly", "my-prod-db", "retry", now, null, DrillOutcome.Running, null, null, null));
        var options = Microsoft.Extensions.Options.Options.Create(engine.Options);
        var retries = new DrillRetryService(engine.Restores, engine.Catalog, engine.Drills, options, engine.Time, NullLogger<DrillRetryService>.Instance);
        using var service = new CatalogReconcileService(Reconciler(engine), options, engine.Time, NullLogger<CatalogReconcileService>.Instance);
        await service.StartAsync(CancellationToken.None);
        try
        {
            // Each probe lets the clock reach the next pass, whenever the service set its wait.
            Task<bool> After(Func<bool> ended)
            {
                engine.Time.Advance(engine.Options.ReconcileInterval);
                return Task.FromResult(ended());
            }
            await TestSupport.Poll.UntilAsync(() => After(() => engine.Catalog.GetRun(run.Id)!.Outcome == RunOutcome.Failed),
                TimeSpan.FromSeconds(10), "the stopped replica's run to be ended");
            // Within the time limit the drill may be live: it is left, and its backup is not retried meanwhile.
            Assert.Equal(DrillOutcome.Running, engine.Restores.GetDrill("left")!.Outcome);
            Assert.Empty(retries.ListDue());

            engine.Time.Advance(engine.Options.RestoreTimeout);
            await TestSupport.Poll.UntilAsync(() => After(() => engine.Restores.GetDrill("left")!.Outcome == DrillOutcome.Inconclusive),
                TimeSpan.FromSeconds(10), "the stopped replica's drill to be ended");
        }
        finally
        {
            await service.StopAsync(CancellationToken.None);
        }

        // Ended as inconclusive, the drill is retried in its turn. The backup itself is untouched and restorable.
        engine.Time.Advance(engine.Options.DrillRetryInitialDelay);
        Assert.Equal(backup.Id, Assert.Single(retries.ListDue()).Backup.Id);
        Assert.True(File.Exists(backup.File));
        Assert.True(engine.Restores.IsRestorable(backup.Id));
    }

    private static CatalogReconciler Reconciler(EngineFixture engine) =>
        new(engine.Catalog, engine.Restores, engine.Paths, Microsoft.Extensions.Options.Options.Create(engine.Options), engine.Time, NullLogger<CatalogReconciler>.Instance);
}
