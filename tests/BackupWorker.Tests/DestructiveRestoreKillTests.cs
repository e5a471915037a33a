using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;
using Xunit.Abstractions;
using static BackupWorker.Tests.DestructiveScenario;

namespace BackupWorker.Tests;

/// <summary>Destructive scenarios: the worker is killed (SIGKILL) during a replace restore, SQLite and PostgreSQL.</summary>
public class DestructiveRestoreKillTests(ITestOutputHelper output)
{
    [Fact]
    public async Task Kill_during_a_sqlite_replace_restore_leaves_the_live_file_whole_and_records_the_restore_interrupted()
    {
        await using var worker = await new Worker(new Dictionary<string, string?> { ["Backup__RestoreLockTimeout"] = "00:01:00" }).StartAsync();
        var backup = await worker.TriggerAsync("nightly", "my-prod-db", "nightly");
        Assert.Equal("Succeeded", backup.GetProperty("outcome").GetString());
        using (var app = OpenSqlite(worker.SqliteDatabase))
            Execute(app, "WITH RECURSIVE n(i) AS (SELECT 1001 UNION ALL SELECT i + 1 FROM n WHERE i < 1010) INSERT INTO customers(id, name, email, created_at) SELECT i, 'late', 'late' || i || '@example.com', 'now' FROM n");
        var before = Restorable(worker.DataDirectory, "my-prod-db");
        var committed = SqliteIds(worker.SqliteDatabase);

        // A reader in an open transaction (SHARED lock): the restore takes its safety copy, then waits for the
        // EXCLUSIVE lock it needs to write (holding PENDING, so no new reader gets in). It is killed there.
        JsonElement accepted;
        string answer;
        using (var reader = OpenSqlite(worker.SqliteDatabase))
        using (var lockProbe = File.OpenHandle(worker.SqliteDatabase, FileMode.Open, FileAccess.Read, FileShare.ReadWrite))
        {
            Execute(reader, "BEGIN");
            Scalar(reader, "SELECT count(*) FROM customers");
            var response = await worker.Http.PostAsJsonAsync("/restores", new { backupId = backup.GetProperty("id").GetString(), replace = true, requestedBy = "destructive" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
            answer = $"HTTP {(int)response.StatusCode} Running";
            await WaitForStateAsync(worker, $"/restores/{accepted.GetProperty("id").GetString()}", () => Task.FromResult(OtherProcessHoldsPending(lockProbe)),
                "the restore waiting for the write lock after its safety copy");
            await worker.KillAsync();
            Execute(reader, "COMMIT");
        }
        await worker.StartAsync();

        var restore = await worker.Http.GetFromJsonAsync<JsonElement>($"/restores/{accepted.GetProperty("id").GetString()}");
        Assert.Equal("Failed", restore.GetProperty("outcome").GetString());
        Assert.StartsWith("interrupted", restore.GetProperty("error").GetString());
        Assert.Equal("ok", IntegrityCheck(worker.SqliteDatabase));
        var lost = committed.Except(SqliteIds(worker.SqliteDatabase)).Count();
        Assert.Equal(0, lost);
        var safetyCopy = Assert.Single(Directory.EnumerateFiles(Path.Combine(worker.DataDirectory, "restores", "safety-copies")));
        // What the target held is findable from the record: a replace that a stop interrupted names its safety copy.
        Assert.Equal(safetyCopy, restore.GetProperty("safetyCopy").GetString());
        Assert.Contains(safetyCopy, restore.GetProperty("error").GetString());
        Assert.Equal(committed.Count, SqliteIds(safetyCopy).Count);
        var leftovers = Directory.EnumerateFiles(Path.Combine(worker.DataDirectory, "databases"), ".*").Select(Path.GetFileName).ToList();
        var after = Restorable(worker.DataDirectory, "my-prod-db");
        Assert.Equal(1, before);
        Assert.Equal(before, after);

        WriteRow(output, "2a. kill -9 during a SQLite replace restore (safety copy taken, waiting for the write lock)", before, after, lost,
            $"restore {Says(restore, 200)}; live file untouched (integrity ok); safetyCopy names the copy taken; {leftovers.Count} restore temp file(s) left beside the database",
            $"POST /restores: {answer}; GET /restores/{{id}}: Failed, interrupted");
    }

    [PostgresFact]
    public async Task Kill_during_a_postgres_replace_swap_leaves_every_row_in_the_target_or_its_safety_copy()
    {
        await using var pg = await Postgres.StartAsync();
        await pg.PsqlAsync("postgres", "CREATE DATABASE orders");
        await pg.PsqlAsync("orders", "CREATE TABLE items(id int PRIMARY KEY, name text NOT NULL); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g");
        await using var worker = await new Worker(new Dictionary<string, string?>
        {
            ["Backup__Databases__orders__Provider"] = "postgres",
            ["ConnectionStrings__orders"] = pg.ConnectionString("orders"),
        }).StartAsync();
        var backup = await worker.TriggerAsync("orders-nightly", "orders", "orders");
        Assert.Equal("Succeeded", backup.GetProperty("outcome").GetString());
        await pg.PsqlAsync("orders", "INSERT INTO items SELECT g, 'late ' || g FROM generate_series(1001, 1010) g");
        var committed = (await pg.PsqlAsync("orders", "SELECT id FROM items")).Split('\n').ToHashSet();
        var before = Restorable(worker.DataDirectory, "orders");

        // A transaction holding a lock on the database object 'orders' (COMMENT takes SHARE UPDATE EXCLUSIVE): the swap's
        // RENAME waits for it inside the swap's transaction. The worker is killed there (its psql lives on, as after a
        // real kill -9), and then the lock is let go.
        JsonElement accepted;
        string answer;
        await using (await pg.HoldAsync("COMMENT ON DATABASE orders IS 'held by the test'"))
        {
            var response = await worker.Http.PostAsJsonAsync("/restores", new { backupId = backup.GetProperty("id").GetString(), target = "orders", replace = true, requestedBy = "destructive" });
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
            answer = $"HTTP {(int)response.StatusCode} Running";
            await WaitForStateAsync(worker, $"/restores/{accepted.GetProperty("id").GetString()}", async () => await pg.PsqlAsync("postgres",
                "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'backupworker-swap-%' AND wait_event_type = 'Lock'") == "1",
                "the swap waiting for its lock");
            await worker.KillAsync();
        }
        // The swap's psql, left by the killed worker, finishes (or fails) once the lock is free.
        await Poll.UntilAsync(() => Task.FromResult(worker.LiveOrphans.Count == 0), Bound, "the killed worker's tools ended");
        await worker.StartAsync();

        var restore = await worker.Http.GetFromJsonAsync<JsonElement>($"/restores/{accepted.GetProperty("id").GetString()}");
        var databases = (await pg.PsqlAsync("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'orders%' ORDER BY datname")).Split('\n');
        var present = new HashSet<string>();
        foreach (var database in databases) present.UnionWith((await pg.PsqlAsync(database, "SELECT id FROM items")).Split('\n'));
        var lost = committed.Except(present).Count();
        var targetRows = int.Parse(await pg.PsqlAsync("orders", "SELECT count(*) FROM items"));
        var swapped = targetRows == 200;
        var after = Restorable(worker.DataDirectory, "orders");
        Assert.Equal(0, lost);
        Assert.Equal(1, before);
        Assert.Equal(before, after);
        Assert.Equal("Failed", restore.GetProperty("outcome").GetString());

        WriteRow(output, "2b. kill -9 during a PostgreSQL replace (swap transaction waiting for a lock; its psql outlives the worker)", before, after, lost,
            $"restore {Says(restore, 200)}; databases now: {string.Join(", ", databases)}; 'orders' holds the {(swapped ? "restored backup (the swap committed after the kill)" : "pre-restore rows (the swap did not commit)")}",
            $"POST /restores: {answer}; GET /restores/{{id}}: Failed, interrupted");
        // The record must not say 'Failed' with nothing about the target while the target may have been replaced.
        var kept = restore.GetProperty("safetyCopy").GetString()!;
        Assert.StartsWith("orders__before_", kept);
        Assert.Contains(kept, restore.GetProperty("error").GetString());
        Assert.Equal(swapped, databases.Contains(kept));
    }

    private static string IntegrityCheck(string file)
    {
        using var connection = OpenSqlite(file);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        return (string)command.ExecuteScalar()!;
    }
}
