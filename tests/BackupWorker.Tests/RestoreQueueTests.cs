using BackupWorker.Backups;
using BackupWorker.Restore;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupWorker.Tests;

/// <summary>Restores and drills accepted for the background: answered at once, recorded to the end, never left Running.</summary>
public class RestoreQueueTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    private static async Task<BackupRun> BackupAsync(EngineFixture engine)
    {
        engine.SeedDemoDatabase();
        engine.Catalog.UpsertSchedule(new ScheduleRecord("nightly", "my-prod-db", "backups/nightly", "@daily", null, null, null, new RetentionRule(null, null), engine.Time.GetUtcNow()));
        var run = await engine.Runner.RunAsync("nightly", new BackupMetadata("my-prod-db", "backups/nightly"), "manual", CancellationToken.None);
        Assert.Equal(RunOutcome.Succeeded, run.Outcome);
        return run;
    }

    private static RestoreQueue Queue(EngineFixture engine) =>
        new(engine.RestoreService, engine.Drills, engine.Restores, engine.Time, NullLogger<RestoreQueue>.Instance);

    [Fact]
    public async Task An_accepted_restore_is_answered_running_and_recorded_when_it_ends()
    {
        using var engine = new EngineFixture();
        var backup = await BackupAsync(engine);
        using var queue = Queue(engine);
        await using var slow = await SlowBackupFile.ReplaceAsync(backup.File!);

        var accepted = await queue.AcceptRestoreAsync(new RestoreRequest(BackupId: backup.Id, Target: "queued.db")).WaitAsync(Patience);

        Assert.Equal(RunOutcome.Running, accepted.Outcome);
        Assert.Equal(RunOutcome.Running, engine.Restores.GetRestore(accepted.Id)!.Outcome); // a poll right away finds it
        await slow.ReleaseAsync(Patience);
        var ended = await PollAsync(() => engine.Restores.GetRestore(accepted.Id)!, r => r.Outcome != RunOutcome.Running);
        Assert.True(ended.Outcome == RunOutcome.Succeeded, ended.Error);
        Assert.Equal(SqliteRows.Dump(backup.File!), SqliteRows.Dump(Path.Combine(engine.RestoreRoot, "queued.db")));

        // A refusal needs no work: it is the caller's answer at once, as before.
        var refused = await Assert.ThrowsAsync<RestoreProblemException>(() => queue.AcceptRestoreAsync(new RestoreRequest(BackupId: backup.Id, Target: "queued.db")));
        Assert.Equal(409, refused.Status);
    }

    [Fact]
    public async Task Shutdown_during_a_restore_and_a_drill_leaves_neither_recorded_as_running()
    {
        using var engine = new EngineFixture();
        var backup = await BackupAsync(engine);
        using var queue = Queue(engine);
        await queue.StartAsync(CancellationToken.None);
        await using var slow = await SlowBackupFile.ReplaceAsync(backup.File!);
        var restore = await queue.AcceptRestoreAsync(new RestoreRequest(BackupId: backup.Id, Target: "stopped.db")).WaitAsync(Patience);
        // The restore is in the file before the drill comes: it holds the database's one slot, and the drill waits for it.
        await slow.HoldReaderAsync(Patience);
        var drill = queue.AcceptDrill(backup);
        Assert.Equal(DrillOutcome.Running, engine.Restores.GetDrill(drill.Id)!.Outcome);

        // The restore is stuck reading the held-back file, where no cancellation reaches: the host's deadline passes.
        using var hostDeadline = new CancellationTokenSource(TimeSpan.FromSeconds(2));
        await queue.StopAsync(hostDeadline.Token).WaitAsync(Patience);

        var stoppedRestore = engine.Restores.GetRestore(restore.Id)!;
        Assert.Equal(RunOutcome.Failed, stoppedRestore.Outcome);
        Assert.NotNull(stoppedRestore.EndedAt);
        Assert.Contains("shut down", stoppedRestore.Error);
        var stoppedDrill = engine.Restores.GetDrill(drill.Id)!;
        Assert.Equal(DrillOutcome.Inconclusive, stoppedDrill.Outcome); // proves nothing about the backup
        Assert.True(engine.Restores.IsRestorable(backup.Id));
        // Nothing new is taken on once stopping.
        Assert.Equal(503, (await Assert.ThrowsAsync<RestoreProblemException>(() => queue.AcceptRestoreAsync(new RestoreRequest(BackupId: backup.Id)))).Status);
        Assert.False(File.Exists(Path.Combine(engine.RestoreRoot, "stopped.db")));
    }

    [Fact]
    public async Task Shutdown_cancels_a_restore_that_can_stop_and_it_records_that_itself()
    {
        using var engine = new EngineFixture();
        var backup = await BackupAsync(engine);
        using var queue = Queue(engine);
        var slow = await SlowBackupFile.ReplaceAsync(backup.File!);
        var restore = await queue.AcceptRestoreAsync(new RestoreRequest(BackupId: backup.Id, Target: "cancelled.db")).WaitAsync(Patience);

        // Stopping cancels the work; releasing the file lets the restore reach a point where it sees that.
        var stopping = queue.StopAsync(CancellationToken.None);
        await slow.DisposeAsync();
        await stopping.WaitAsync(Patience);

        var stopped = engine.Restores.GetRestore(restore.Id)!;
        Assert.Equal(RunOutcome.Failed, stopped.Outcome);
        Assert.NotNull(stopped.EndedAt);
        Assert.False(File.Exists(Path.Combine(engine.RestoreRoot, "cancelled.db")));
    }

    private static async Task<T> PollAsync<T>(Func<T> read, Func<T, bool> done)
    {
        using var bound = new CancellationTokenSource(Patience);
        while (true)
        {
            var value = read();
            if (done(value)) return value;
            await Task.Delay(50, bound.Token);
        }
    }
}
