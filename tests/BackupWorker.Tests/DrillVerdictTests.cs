using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Restore;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupWorker.Tests;

/// <summary>
/// Only a content failure makes a backup unrestorable; a drill that could not run is inconclusive, changes nothing and
/// is retried with back-off; a later successful drill makes a backup restorable again.
/// </summary>
public class DrillVerdictTests
{
    private static readonly BackupMetadata Demo = new("my-prod-db", "backups/my-prod-db");

    private static async Task<(EngineFixture Engine, BackupRun Backup)> BackedUpAsync()
    {
        var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        var backup = await engine.Runner.RunAsync("prod-db-backup", Demo, "job", CancellationToken.None);
        Assert.True(backup.Outcome == RunOutcome.Succeeded, backup.Error);
        return (engine, backup);
    }

    private static string BlockScratch(EngineFixture engine)
    {
        Directory.CreateDirectory(engine.RestoreRoot);
        var drills = Path.Combine(engine.RestoreRoot, "drills");
        File.WriteAllText(drills, "not a directory");
        return drills;
    }

    [Fact]
    public async Task A_drill_whose_scratch_cannot_be_written_is_inconclusive_and_the_backup_stays_restorable()
    {
        var (engine, backup) = await BackedUpAsync();
        using var _ = engine;
        BlockScratch(engine);

        var drill = await engine.Drills.DrillAsync(backup, "manual", CancellationToken.None);

        Assert.Equal(DrillOutcome.Inconclusive, drill.Outcome);
        Assert.Contains("proves nothing", drill.Error);
        Assert.True(engine.Restores.IsRestorable(backup.Id));
        Assert.Equal(backup.Id, engine.RestoreService.FindBackup(new RestoreRequest(Schedule: "prod-db-backup")).Id);
    }

    [Fact]
    public async Task A_drill_of_a_postgres_backup_while_the_server_is_down_is_inconclusive()
    {
        using var engine = new EngineFixture(o => o.Databases["shop"] = new() { Provider = "postgres", ConnectionString = $"Host=127.0.0.1;Port={TestSupport.FreePort.Next()};Username=postgres" });
        // A dump-shaped backup recorded for the database; the server it lives on does not answer.
        var file = Path.Combine(engine.DataDirectory, "shop.dump");
        await File.WriteAllBytesAsync(file, "PGDMP"u8.ToArray());
        var checksum = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData("PGDMP"u8));
        var at = engine.Time.GetUtcNow();
        var backup = new BackupRun(Guid.NewGuid().ToString("N"), "shop-nightly", "shop", "job", at, at, 5, checksum, file, RunOutcome.Succeeded, null, null);
        engine.Catalog.InsertRun(backup);
        engine.Restores.SaveManifest(backup.Id, new DatabaseManifest(new string('0', 64), []));

        var drill = await engine.Drills.DrillAsync(backup, "manual", CancellationToken.None);

        Assert.Equal(DrillOutcome.Inconclusive, drill.Outcome);
        Assert.True(engine.Restores.IsRestorable(backup.Id));
    }

    [Fact]
    public async Task A_successful_drill_after_a_failed_one_makes_the_backup_restorable_again()
    {
        var (engine, backup) = await BackedUpAsync();
        using var _ = engine;
        var original = await File.ReadAllBytesAsync(backup.File!);
        var damaged = original.ToArray();
        damaged[4096 + 100] ^= 0xFF;
        await File.WriteAllBytesAsync(backup.File!, damaged);
        Assert.Equal(DrillOutcome.Failed, (await engine.Drills.DrillAsync(backup, "manual", CancellationToken.None)).Outcome);
        Assert.False(engine.Restores.IsRestorable(backup.Id));
        engine.Time.Advance(TimeSpan.FromMinutes(1));

        // The file comes back intact (a storage fault that was repaired): an operator re-drills it.
        await File.WriteAllBytesAsync(backup.File!, original);
        var redrill = await engine.Drills.DrillAsync(backup, "manual", CancellationToken.None);

        Assert.Equal(DrillOutcome.Succeeded, redrill.Outcome);
        Assert.True(engine.Restores.IsRestorable(backup.Id));
        // An inconclusive drill later does not take that back.
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(DrillOutcome.Inconclusive, (await engine.Drills.DrillAsync(backup, "manual", new CancellationToken(canceled: true))).Outcome);
        Assert.True(engine.Restores.IsRestorable(backup.Id));
    }

    [Fact]
    public async Task Inconclusive_drills_are_retried_with_back_off_until_one_is_conclusive()
    {
        var (engine, backup) = await BackedUpAsync();
        using var _ = engine;
        engine.Options.DrillRetryInitialDelay = TimeSpan.FromMinutes(5);
        engine.Options.DrillRetryMaxDelay = TimeSpan.FromMinutes(15);
        var retries = new DrillRetryService(engine.Restores, engine.Catalog, engine.Drills, Microsoft.Extensions.Options.Options.Create(engine.Options),
            engine.Time, NullLogger<DrillRetryService>.Instance);
        var blocked = BlockScratch(engine);
        Assert.Equal(DrillOutcome.Inconclusive, (await engine.Drills.DrillAsync(backup, "manual", CancellationToken.None)).Outcome);

        engine.Time.Advance(TimeSpan.FromMinutes(4));
        Assert.Empty(await retries.RetryDueAsync(CancellationToken.None)); // 5 min after the first
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        var second = Assert.Single(await retries.RetryDueAsync(CancellationToken.None));
        Assert.Equal((DrillOutcome.Inconclusive, "retry"), (second.Outcome, second.Trigger));

        engine.Time.Advance(TimeSpan.FromMinutes(9));
        Assert.Empty(await retries.RetryDueAsync(CancellationToken.None)); // 10 min after the second
        File.Delete(blocked);
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.Equal(DrillOutcome.Succeeded, Assert.Single(await retries.RetryDueAsync(CancellationToken.None)).Outcome);

        engine.Time.Advance(TimeSpan.FromHours(1));
        Assert.Empty(await retries.RetryDueAsync(CancellationToken.None)); // conclusive now: nothing more to retry
        Assert.Equal(TimeSpan.FromMinutes(15), RetryPasses.Backoff(5, TimeSpan.FromMinutes(5), TimeSpan.FromMinutes(15)));
    }

    [Fact]
    public async Task Two_workers_whose_retry_passes_overlap_retry_each_inconclusive_drill_once()
    {
        var (engine, first) = await BackedUpAsync();
        using var _ = engine;
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        var second = await engine.Runner.RunAsync("prod-db-backup", Demo, "job", CancellationToken.None);
        var blocked = BlockScratch(engine);
        foreach (var backup in new[] { first, second })
            Assert.Equal(DrillOutcome.Inconclusive, (await engine.Drills.DrillAsync(backup, "manual", CancellationToken.None)).Outcome);
        File.Delete(blocked);
        engine.Time.Advance(engine.Options.DrillRetryMaxDelay);
        DrillRetryService Worker() => new(engine.Restores, engine.Catalog, engine.Drills, Microsoft.Extensions.Options.Options.Create(engine.Options),
            engine.Time, NullLogger<DrillRetryService>.Instance);
        var a = Worker();
        var b = Worker();

        // Worker a lists both as due; worker b's whole pass runs before a drills, so a's list is stale by then.
        var listed = a.ListDue();
        Assert.Equal(2, listed.Count);
        Assert.Equal(2, (await b.RetryDueAsync(CancellationToken.None)).Count(d => d.Outcome == DrillOutcome.Succeeded));
        Assert.Empty(await a.RetryAsync(listed, CancellationToken.None));

        // One retry of each, conclusive: both backups stay restorable and nothing is left to retry.
        foreach (var backup in new[] { first, second })
        {
            Assert.Single(engine.Restores.ListDrills(backupId: backup.Id), d => d.Trigger == "retry");
            Assert.True(engine.Restores.IsRestorable(backup.Id));
        }
        Assert.Empty(a.ListDue());
    }

    [Fact]
    public async Task A_retry_drill_begins_only_if_no_other_drill_began_since_the_inconclusive_one()
    {
        var (engine, backup) = await BackedUpAsync();
        using var _ = engine;
        BlockScratch(engine);
        var inconclusive = await engine.Drills.DrillAsync(backup, "manual", CancellationToken.None);
        DrillRecord Retry() => new(Guid.NewGuid().ToString("N"), backup.Id, backup.Schedule, backup.Database, "retry", engine.Time.GetUtcNow(),
            null, DrillOutcome.Running, null, null, null);

        Assert.True(engine.Restores.TryBeginRetryDrill(Retry(), inconclusive.Id));
        Assert.False(engine.Restores.TryBeginRetryDrill(Retry(), inconclusive.Id)); // the same instant, another worker
        engine.Time.Advance(TimeSpan.FromMinutes(1));
        Assert.False(engine.Restores.TryBeginRetryDrill(Retry(), inconclusive.Id));
        Assert.Single(engine.Restores.ListDrills(backupId: backup.Id), d => d.Trigger == "retry");
    }
}
