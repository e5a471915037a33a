using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Xunit.Abstractions;
using static BackupWorker.Tests.DestructiveScenario;

namespace BackupWorker.Tests;

/// <summary>Destructive scenario: an application keeps committing into a SQLite database while it is replaced by a restore.</summary>
public class DestructiveLiveWriterTests(ITestOutputHelper output)
{
    private const long FirstWriterId = 100_000;

    [Fact]
    public async Task Every_row_a_writer_commits_during_a_replace_restore_is_in_the_live_file_or_the_safety_copy()
    {
        await using var worker = await new Worker(new Dictionary<string, string?> { ["Backup__RestoreLockTimeout"] = "00:00:30" }).StartAsync();
        var backup = await worker.TriggerAsync("nightly", "my-prod-db", "nightly");
        Assert.Equal("Succeeded", backup.GetProperty("outcome").GetString());
        var before = Restorable(worker.DataDirectory, "my-prod-db");
        var seeded = SqliteIds(worker.SqliteDatabase);

        using var writer = new SqliteLiveRestoreWriter(worker.SqliteDatabase, FirstWriterId);
        await writer.Committed(50).WaitAsync(Bound);
        var response = await worker.Http.PostAsJsonAsync("/restores", new { backupId = backup.GetProperty("id").GetString(), replace = true, requestedBy = "destructive" });
        Assert.Equal(HttpStatusCode.Accepted, response.StatusCode);
        var restore = await EndedAsync(worker.Http, $"/restores/{(await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("id").GetString()}");
        // The writer goes on into the restored file for a while.
        await writer.Committed(writer.Count + 50).WaitAsync(Bound);
        var count = await writer.StopAsync();

        await worker.KillAsync();
        await worker.StartAsync();
        Assert.Equal("Succeeded", restore.GetProperty("outcome").GetString());
        var safetyCopy = restore.GetProperty("safetyCopy").GetString()!;
        var present = SqliteIds(worker.SqliteDatabase);
        present.UnionWith(SqliteIds(safetyCopy));
        var committed = Enumerable.Range(0, count).Select(i => FirstWriterId + i).Concat(seeded).ToList();
        var lost = committed.Count(id => !present.Contains(id));
        var after = Restorable(worker.DataDirectory, "my-prod-db");
        var recorded = await worker.Http.GetFromJsonAsync<JsonElement>($"/restores/{restore.GetProperty("id").GetString()}");

        WriteRow(output, $"7. writer committing during a SQLite replace restore ({count} rows committed)", before, after, lost,
            $"restore {Says(recorded)}; safety copy named in the record",
            $"POST /restores: HTTP 202; GET /restores/{{id}}: {recorded.GetProperty("outcome").GetString()} with safetyCopy");
        Assert.Equal(0, lost);
        Assert.Equal(1, before);
        Assert.Equal(before, after);
        Assert.Equal("Succeeded", recorded.GetProperty("outcome").GetString());
    }
}
