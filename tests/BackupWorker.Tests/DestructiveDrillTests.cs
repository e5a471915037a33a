using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using TestSupport;
using Xunit.Abstractions;
using static BackupWorker.Tests.DestructiveScenario;

namespace BackupWorker.Tests;

/// <summary>
/// Destructive scenarios: a drill whose infrastructure fails under it (PostgreSQL stopped, the scratch directory
/// unusable). Such a drill proves nothing: Inconclusive, the backup stays restorable, and a retry succeeds once the
/// infrastructure is back.
/// </summary>
public class DestructiveDrillTests(ITestOutputHelper output)
{
    // Retries of inconclusive drills at once, so the test sees one succeed once the cause is gone.
    private static readonly Dictionary<string, string?> QuickRetries = new()
    {
        ["Backup__DrillRetryInitialDelay"] = "00:00:01",
        ["Backup__DrillRetryMaxDelay"] = "00:00:02",
        ["Backup__DrillRetryPollInterval"] = "00:00:01",
    };

    [PostgresFact]
    public async Task PostgreSQL_stopped_during_a_drill_is_inconclusive_and_the_backup_stays_restorable()
    {
        await using var pg = await Postgres.StartAsync();
        await pg.PsqlAsync("postgres", "CREATE DATABASE orders");
        await pg.PsqlAsync("orders", "CREATE TABLE items(id int PRIMARY KEY, name text NOT NULL); INSERT INTO items SELECT g, 'item ' || g FROM generate_series(1, 200) g");
        await using var worker = await new Worker(new Dictionary<string, string?>(QuickRetries)
        {
            ["Backup__Databases__orders__Provider"] = "postgres",
            ["ConnectionStrings__orders"] = pg.ConnectionString("orders"),
        }).StartAsync();
        var backup = await worker.TriggerAsync("orders-nightly", "orders", "orders");
        Assert.Equal("Succeeded", backup.GetProperty("outcome").GetString());
        var backupId = backup.GetProperty("id").GetString()!;
        var committed = await pg.PsqlAsync("orders", "SELECT string_agg(id::text, ',' ORDER BY id) FROM items");
        var before = Restorable(worker.DataDirectory, "orders");

        // The drill's CREATE DATABASE ... TEMPLATE template0 waits for a lock the test holds on template0; PostgreSQL
        // is stopped (fast shutdown) while it waits.
        string answer;
        string drillId;
        await using (await pg.HoldAsync("COMMENT ON DATABASE template0 IS 'held by the test'"))
        {
            var response = await worker.Http.PostAsync($"/backups/{backupId}/drill", null);
            Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
            drillId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
            answer = $"HTTP {(int)response.StatusCode} Running";
            await Poll.UntilAsync(async () => await pg.PsqlAsync("postgres",
                "SELECT count(*) FROM pg_stat_activity WHERE query LIKE 'CREATE DATABASE%drill_%' AND wait_event_type = 'Lock'") == "1",
                Bound, "the drill's CREATE DATABASE waiting");
            await pg.StopAsync();
        }
        var drill = await EndedAsync(worker.Http, $"/drills/{drillId}");
        Assert.Equal("Inconclusive", drill.GetProperty("outcome").GetString());
        Assert.True((await worker.Http.GetFromJsonAsync<JsonElement>($"/backups/{backupId}")).GetProperty("restorable").GetBoolean());

        await pg.StartAgainAsync();
        await worker.KillAsync();
        await worker.StartAsync();
        var recorded = await worker.Http.GetFromJsonAsync<JsonElement>($"/drills/{drillId}");
        Assert.Equal("Inconclusive", recorded.GetProperty("outcome").GetString());
        var retried = await Poll.UntilAsync(async () => (await worker.Http.GetFromJsonAsync<JsonElement[]>($"/drills?backupId={backupId}"))!
            .Cast<JsonElement?>().FirstOrDefault(d => d!.Value.GetProperty("outcome").GetString() == "Succeeded"), Bound, "a retried drill succeeding");
        var after = Restorable(worker.DataDirectory, "orders");
        var lost = committed.Split(',').Except((await pg.PsqlAsync("orders", "SELECT string_agg(id::text, ',' ORDER BY id) FROM items")).Split(',')).Count();
        var scratch = await pg.PsqlAsync("postgres", "SELECT count(*) FROM pg_database WHERE datname LIKE 'drill_%'");
        Assert.Equal(0, lost);
        Assert.Equal(1, before);
        Assert.Equal(before, after);

        WriteRow(output, "4. PostgreSQL stopped during a drill (CREATE DATABASE of the scratch copy waiting)", before, after, lost,
            $"drill {Says(recorded)}; backup restorable; retry {retried.GetProperty("outcome").GetString()} once PostgreSQL is back; {scratch} scratch database(s) left",
            $"POST /backups/{{id}}/drill: {answer}; GET /drills/{{id}}: Inconclusive; GET /backups/{{id}}: restorable true");
    }

    [Fact]
    public async Task An_unusable_scratch_directory_makes_a_drill_inconclusive_and_the_backup_stays_restorable()
    {
        await using var worker = await new Worker(QuickRetries).StartAsync();
        var backup = await worker.TriggerAsync("nightly", "my-prod-db", "nightly");
        Assert.Equal("Succeeded", backup.GetProperty("outcome").GetString());
        var backupId = backup.GetProperty("id").GetString()!;
        var rowsBefore = SqliteRows.Dump(worker.SqliteDatabase);
        var before = Restorable(worker.DataDirectory, "my-prod-db");

        // Root writes anywhere, so permissions would not stop it: a file stands where the drills' scratch directory goes.
        var scratch = Path.Combine(worker.DataDirectory, "restores", "drills");
        Directory.CreateDirectory(Path.GetDirectoryName(scratch)!);
        File.WriteAllText(scratch, "not a directory");
        var response = await worker.Http.PostAsync($"/backups/{backupId}/drill", null);
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var drillId = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()!;
        var drill = await EndedAsync(worker.Http, $"/drills/{drillId}");
        Assert.Equal("Inconclusive", drill.GetProperty("outcome").GetString());
        Assert.True((await worker.Http.GetFromJsonAsync<JsonElement>($"/backups/{backupId}")).GetProperty("restorable").GetBoolean());

        await worker.KillAsync();
        File.Delete(scratch);
        await worker.StartAsync();
        var recorded = await worker.Http.GetFromJsonAsync<JsonElement>($"/drills/{drillId}");
        Assert.Equal("Inconclusive", recorded.GetProperty("outcome").GetString());
        var retried = await Poll.UntilAsync(async () => (await worker.Http.GetFromJsonAsync<JsonElement[]>($"/drills?backupId={backupId}"))!
            .Cast<JsonElement?>().FirstOrDefault(d => d!.Value.GetProperty("outcome").GetString() == "Succeeded"), Bound, "a retried drill succeeding");
        var after = Restorable(worker.DataDirectory, "my-prod-db");
        var lost = rowsBefore.Except(SqliteRows.Dump(worker.SqliteDatabase)).Count();
        Assert.Equal(0, lost);
        Assert.Equal(1, before);
        Assert.Equal(before, after);

        WriteRow(output, "5. drill scratch directory unusable (a file where restores/drills should be)", before, after, lost,
            $"drill {Says(recorded)}; backup restorable; retry {retried.GetProperty("outcome").GetString()} once the path is usable",
            "POST /backups/{id}/drill: HTTP 202 Running; GET /drills/{id}: Inconclusive; GET /backups/{id}: restorable true");
    }
}
