using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;
using TestSupport;

namespace BackupWorker.Tests;

/// <summary>Bounded resources: a hanging backup is cancelled at the run timeout; the catalog's run history is pruned.</summary>
public class BackupBoundsTests
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    /// <summary>Advances the fake clock past the run timeout until the run ends (the timeout counts on that clock).</summary>
    private static async Task<BackupRun> EndByTimeoutAsync(EngineFixture engine, Task<BackupRun> run)
    {
        var deadline = DateTime.UtcNow + Patience;
        while (!run.IsCompleted)
        {
            Assert.True(DateTime.UtcNow < deadline, "the run did not end at its time limit");
            engine.Time.Advance(engine.Options.RunTimeout);
            await Task.WhenAny(run, Task.Delay(50));
        }
        return await run;
    }

    /// <summary>A connection holding an exclusive lock on the (rollback-journal) source: every read of it is BUSY.</summary>
    private static SqliteConnection LockExclusively(string file)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=DELETE; BEGIN EXCLUSIVE; UPDATE customers SET name = name;";
        command.ExecuteNonQuery();
        return connection;
    }

    [Fact]
    public async Task A_sqlite_backup_blocked_by_a_writer_waits_in_steps_and_is_cancelled_at_the_run_timeout()
    {
        using var engine = new EngineFixture(o => o.RunTimeout = TimeSpan.FromMinutes(5));
        var source = engine.SeedDemoDatabase();
        using var writer = LockExclusively(source);

        var run = await EndByTimeoutAsync(engine, engine.Runner.RunAsync("prod-db-backup", new("my-prod-db", "x"), "job", CancellationToken.None));

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.Equal("The backup exceeded its time limit (Backup:RunTimeout 00:05:00) and was cancelled.", run.Error);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(engine.DataDirectory, "backups", "x")));
        Assert.Equal(RunOutcome.Failed, engine.Catalog.GetRun(run.Id)!.Outcome);
    }

    [Fact]
    public async Task A_sqlite_backup_is_cancelled_by_its_caller_between_steps_and_then_succeeds_once_the_writer_is_done()
    {
        using var engine = new EngineFixture();
        var source = engine.SeedDemoDatabase();
        BackupRun cancelled;
        using (LockExclusively(source))
        {
            using var cts = new CancellationTokenSource();
            var running = engine.Runner.RunAsync("prod-db-backup", new("my-prod-db", "x"), "job", cts.Token);
            Assert.False(running.IsCompleted); // blocked on the writer, not failed at once
            cts.Cancel();
            cancelled = await running.WaitAsync(Patience);
        }

        Assert.Equal(RunOutcome.Failed, cancelled.Outcome);
        Assert.Equal("The backup was cancelled.", cancelled.Error);
        var run = await engine.Runner.RunAsync("prod-db-backup", new("my-prod-db", "x"), "job", CancellationToken.None);
        Assert.Equal(RunOutcome.Succeeded, run.Outcome);
        Assert.Equal(SqliteRows.Dump(source), SqliteRows.Dump(run.File!));
    }

    [Fact]
    public async Task A_sqlite_backup_of_many_steps_is_a_complete_copy()
    {
        using var engine = new EngineFixture();
        var source = engine.SeedDemoDatabase();
        using (var connection = new SqliteConnection($"Data Source={source};Pooling=False"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // Well over one step of pages (4 KiB each).
            command.CommandText = $"CREATE TABLE blobs(id INTEGER PRIMARY KEY, data BLOB); INSERT INTO blobs(data) SELECT randomblob(3000) FROM generate_series(1, {SqliteBackupProvider.PagesPerStep * 3});";
            try { command.ExecuteNonQuery(); }
            catch (SqliteException)
            {
                // generate_series is an extension some builds lack: a recursive CTE does the same.
                command.CommandText = $"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {SqliteBackupProvider.PagesPerStep * 3}) INSERT INTO blobs(data) SELECT randomblob(3000) FROM n;";
                command.ExecuteNonQuery();
            }
        }

        var run = await engine.Runner.RunAsync("prod-db-backup", new("my-prod-db", "x"), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Succeeded, run.Outcome);
        Assert.True(run.Bytes > SqliteBackupProvider.PagesPerStep * 3 * 3000L);
        Assert.Equal(SqliteRows.Dump(source), SqliteRows.Dump(run.File!));
        Assert.Equal(Checksum(source, "blobs"), Checksum(run.File!, "blobs"));
    }

    private static string Checksum(string file, string table)
    {
        using var connection = new SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT group_concat(hex(data), '') FROM (SELECT data FROM {table} ORDER BY id)";
        return Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes((string)command.ExecuteScalar()!)));
    }

    [Fact]
    public async Task A_hanging_pg_dump_and_its_children_are_killed_at_the_run_timeout()
    {
        if (OperatingSystem.IsWindows()) return; // a shell script stands in for pg_dump
        using var engine = new EngineFixture(o =>
        {
            o.RunTimeout = TimeSpan.FromMinutes(5);
            o.Databases["orders"] = new DatabaseOptions { Provider = "postgres", ConnectionString = "Host=127.0.0.1;Port=1;Username=u;Database=orders" };
        });
        // A pg_dump that never finishes (a server that accepts and never answers looks the same), with a child of its own.
        var pids = Path.Combine(engine.DataDirectory, "pids");
        var script = Path.Combine(engine.DataDirectory, "hanging-pg_dump");
        await File.WriteAllTextAsync(script, $"#!/bin/sh\nsleep 600 &\necho \"$$ $!\" > '{pids}.tmp'\nmv '{pids}.tmp' '{pids}'\nwait\n");
        File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        engine.Options.PgDumpPath = script;

        var running = engine.Runner.RunAsync("orders-hourly", new("orders", "orders"), "job", CancellationToken.None);
        var started = DateTime.UtcNow;
        while (!File.Exists(pids) && !running.IsCompleted)
        {
            Assert.True(DateTime.UtcNow - started < Patience, "the fake pg_dump did not start");
            await Task.WhenAny(running, Task.Delay(20)); // a file appearing has no event to await here
        }
        var processes = (await File.ReadAllTextAsync(pids)).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(int.Parse).ToArray();
        Assert.All(processes, pid => Assert.True(ProcessProbe.IsAlive(pid)));

        var run = await EndByTimeoutAsync(engine, running);

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.Contains("time limit", run.Error);
        // Kill is immediate for the shell; its orphaned child is reaped by init a moment later.
        var deadline = DateTime.UtcNow + Patience;
        while (processes.Any(ProcessProbe.IsAlive) && DateTime.UtcNow < deadline) await Task.Delay(20);
        Assert.All(processes, pid => Assert.False(ProcessProbe.IsAlive(pid), $"pid {pid} still alive"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(engine.DataDirectory, "backups", "orders")));
    }

    [Fact]
    public async Task Run_history_is_pruned_by_age_and_count_but_never_the_record_of_a_backup_on_disk()
    {
        using var engine = new EngineFixture(o => { o.RunHistoryMaxAge = TimeSpan.FromDays(30); o.RunHistoryMaxCount = 3; });
        engine.SeedDemoDatabase();
        var now = engine.Time.GetUtcNow();
        BackupRun Old(string id, RunOutcome outcome, int daysAgo) =>
            new(id, "s", "my-prod-db", "job", now.AddDays(-daysAgo), now.AddDays(-daysAgo), null, null, outcome == RunOutcome.Succeeded ? "/x" : null, outcome, null, null);
        BackupRun[] history =
        [
            Old("old-failed", RunOutcome.Failed, 40), Old("old-pruned", RunOutcome.Succeeded, 40), Old("old-on-disk", RunOutcome.Succeeded, 40),
            Old("failed-5", RunOutcome.Failed, 5), Old("failed-4", RunOutcome.Failed, 4), Old("failed-3", RunOutcome.Failed, 3), Old("failed-2", RunOutcome.Failed, 2),
        ];
        foreach (var r in history)
        {
            engine.Catalog.InsertRun(r);
            engine.Catalog.CompleteRun(r);
        }
        engine.Catalog.MarkPruned("old-pruned", now.AddDays(-39));

        var run = await engine.Runner.RunAsync("s", new("my-prod-db", "s"), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Succeeded, run.Outcome);
        // Kept: backups on disk (however old) and the newest 3 runs without one; the other old ones are gone.
        Assert.Equal(new[] { run.Id, "failed-2", "failed-3", "failed-4", "old-on-disk" }.Order(), engine.Catalog.ListRuns().Select(r => r.Id).Order());
    }
}
