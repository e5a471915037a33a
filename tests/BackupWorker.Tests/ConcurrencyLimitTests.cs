using System.Collections.Concurrent;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using TestSupport;

namespace BackupWorker.Tests;

/// <summary>
/// Backups are bounded per database, per database server and in the whole worker; a run over a limit waits, shown as
/// Queued, and runs once a slot frees; a cancelled wait frees nothing it did not take.
/// </summary>
public class ConcurrencyLimitTests
{
    /// <summary>A provider whose backup of each database waits until the test releases that database.</summary>
    private sealed class GatedProvider : IDatabaseBackupProvider
    {
        private readonly ConcurrentDictionary<string, TaskCompletionSource> _release = new();

        public ConcurrentQueue<string> Started { get; } = new();
        public string Provider => "gated";
        public string FileExtension => ".bin";

        public void Release(string database) => Gate(database).TrySetResult();

        private TaskCompletionSource Gate(string database) =>
            _release.GetOrAdd(database, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));

        public async Task BackupAsync(string databaseName, DatabaseOptions database, string targetFile, CancellationToken cancellationToken)
        {
            Started.Enqueue(databaseName);
            await Gate(databaseName).Task.WaitAsync(TimeSpan.FromSeconds(60), cancellationToken);
            await File.WriteAllTextAsync(targetFile, "backup of " + databaseName, cancellationToken);
        }

        public Task VerifyAsync(string backupFile, CancellationToken cancellationToken) => Task.CompletedTask;
    }

    private static EngineFixture Engine(GatedProvider gate, Action<BackupOptions> limits) => new(o =>
    {
        foreach (var name in new[] { "a", "b" }) o.Databases[name] = new DatabaseOptions { Provider = "gated" };
        limits(o);
    }, gate);

    private static Task<RunOutcome> OutcomeAsync(EngineFixture engine, string schedule, RunOutcome wanted) =>
        Poll.UntilAsync(() => Task.FromResult(engine.Catalog.ListRuns(schedule: schedule).FirstOrDefault(r => r.Outcome == wanted)?.Outcome),
            TimeSpan.FromSeconds(30), $"a {wanted} run of {schedule}");

    [Fact]
    public async Task A_second_backup_on_the_same_server_waits_queued_until_the_first_ends()
    {
        var gate = new GatedProvider();
        using var engine = Engine(gate, o => o.MaxConcurrentPerServer = 1);

        var first = engine.Runner.RunAsync("sa", new BackupMetadata("a", "a"), "job", CancellationToken.None);
        await Poll.UntilAsync(() => Task.FromResult(gate.Started.Contains("a") ? (bool?)true : null), TimeSpan.FromSeconds(30), "backup of a started");
        var second = engine.Runner.RunAsync("sb", new BackupMetadata("b", "b"), "job", CancellationToken.None);

        await OutcomeAsync(engine, "sb", RunOutcome.Queued);
        Assert.Equal(["a"], gate.Started);
        gate.Release("a");
        gate.Release("b");

        Assert.Equal(RunOutcome.Succeeded, (await first.WaitAsync(TimeSpan.FromSeconds(30))).Outcome);
        var b = await second.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(b.Outcome == RunOutcome.Succeeded, b.Error);
        Assert.Equal(RunOutcome.Succeeded, engine.Catalog.GetRun(b.Id)!.Outcome);
        Assert.Equal(["a", "b"], gate.Started);
    }

    [Fact]
    public async Task Two_schedules_of_one_database_back_it_up_one_at_a_time_and_a_cancelled_wait_takes_no_slot()
    {
        var gate = new GatedProvider();
        using var engine = Engine(gate, o => o.MaxConcurrentPerServer = 2);

        var first = engine.Runner.RunAsync("nightly", new BackupMetadata("a", "n"), "job", CancellationToken.None);
        await Poll.UntilAsync(() => Task.FromResult(gate.Started.Count == 1 ? (bool?)true : null), TimeSpan.FromSeconds(30), "first backup started");
        using var cancel = new CancellationTokenSource();
        var waiting = engine.Runner.RunAsync("hourly", new BackupMetadata("a", "h"), "job", cancel.Token);
        await OutcomeAsync(engine, "hourly", RunOutcome.Queued);
        // Another database on the same server is within the server's limit of 2: it is not held up.
        var other = engine.Runner.RunAsync("sb", new BackupMetadata("b", "b"), "job", CancellationToken.None);
        await Poll.UntilAsync(() => Task.FromResult(gate.Started.Contains("b") ? (bool?)true : null), TimeSpan.FromSeconds(30), "backup of b started");

        cancel.Cancel();
        var cancelled = await waiting.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(RunOutcome.Failed, cancelled.Outcome);
        Assert.Contains("cancelled", cancelled.Error);
        gate.Release("a");
        gate.Release("b");
        Assert.Equal(RunOutcome.Succeeded, (await first.WaitAsync(TimeSpan.FromSeconds(30))).Outcome);
        Assert.Equal(RunOutcome.Succeeded, (await other.WaitAsync(TimeSpan.FromSeconds(30))).Outcome);

        // Every slot was given back: the next backup of a starts at once.
        var again = await engine.Runner.RunAsync("hourly", new BackupMetadata("a", "h"), "job", CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.True(again.Outcome == RunOutcome.Succeeded, again.Error);
        Assert.DoesNotContain(engine.Catalog.ListRuns(), r => r.Outcome is RunOutcome.Queued or RunOutcome.Running);
    }

    [Fact]
    public async Task A_restore_waits_queued_while_its_database_is_busy_and_runs_when_it_frees()
    {
        using var engine = new EngineFixture();
        engine.SeedDemoDatabase();
        var backup = await engine.Runner.RunAsync("prod-db-backup", new BackupMetadata("my-prod-db", "my-prod-db"), "job", CancellationToken.None);
        Assert.True(backup.Outcome == RunOutcome.Succeeded, backup.Error);
        var busy = await engine.Limiter.AcquireAsync("local", "my-prod-db", null, CancellationToken.None); // a backup or drill of it, say

        var restore = engine.RestoreService.RestoreAsync(new Restore.RestoreRequest(BackupId: backup.Id, Target: "aside.db"), CancellationToken.None);
        var queued = await Poll.UntilAsync(() => Task.FromResult(engine.Restores.ListRestores(10).FirstOrDefault(r => r.Outcome == RunOutcome.Queued)),
            TimeSpan.FromSeconds(30), "a queued restore");
        Assert.False(File.Exists(Path.Combine(engine.RestoreRoot, "aside.db")));
        busy.Dispose();

        var done = await restore.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal((queued.Id, RunOutcome.Succeeded), (done.Id, done.Outcome));
        Assert.Equal(RunOutcome.Succeeded, engine.Restores.GetRestore(done.Id)!.Outcome);
        Assert.True(File.Exists(Path.Combine(engine.RestoreRoot, "aside.db")));
    }

    [Fact]
    public void A_postgres_database_counts_against_its_host_and_port_and_files_against_the_local_disk()
    {
        Assert.Equal("postgres://db.internal:6432", WorkLimiter.ServerOf(new DatabaseOptions { Provider = "postgres", ConnectionString = "Host=db.internal;Port=6432;Username=u" }, "x"));
        Assert.Equal("postgres://localhost:5432", WorkLimiter.ServerOf(new DatabaseOptions { Provider = "postgres", ConnectionString = "Username=u" }, "x"));
        Assert.Equal("local", WorkLimiter.ServerOf(new DatabaseOptions { Provider = "sqlite", ConnectionString = "Data Source=x.db" }, "x"));
    }
}
