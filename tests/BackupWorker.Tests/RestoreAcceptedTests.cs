using System.Diagnostics;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Restore;

namespace BackupWorker.Tests;

/// <summary>
/// A restore through real processes that takes longer than BackupApi's HTTP timeout towards the worker: it is
/// accepted (202) at once and completes on the worker; and a worker stopped in the middle of one records its end.
/// Each test has a stack of its own (one stops its worker).
/// </summary>
public class RestoreAcceptedTests : IAsyncLifetime
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    // Much shorter than the API's default, and than the time the restore below is held back.
    private static readonly TimeSpan ApiWorkerTimeout = TimeSpan.FromSeconds(10);
    private AppStack? _stack;

    private AppStack Stack => _stack!;

    public async Task InitializeAsync() => _stack = await AppStack.StartAsync(
        workerSettings: new Dictionary<string, string?> { ["shutdownTimeoutSeconds"] = "3" },
        apiSettings: new Dictionary<string, string?> { ["BackupApi__WorkerTimeout"] = ApiWorkerTimeout.ToString("c") });

    public async Task DisposeAsync()
    {
        if (_stack is not null) await _stack.DisposeAsync();
    }

    /// <summary>A schedule and one backup of it, asked of the worker directly (not bounded by the API's short timeout).</summary>
    private async Task<JsonElement> BackupAsync(string schedule)
    {
        using var worker = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Stack.WorkerPort}"), Timeout = Patience };
        var create = await worker.PostAsJsonAsync("/schedules", new { name = schedule, database = "my-prod-db", location = $"backups/{schedule}", schedule = "@yearly" });
        Assert.True(create.StatusCode == HttpStatusCode.Created, await create.Content.ReadAsStringAsync());
        var run = await worker.PostAsync($"/schedules/{schedule}/run", null);
        Assert.True(run.StatusCode == HttpStatusCode.OK, await run.Content.ReadAsStringAsync());
        return await run.Content.ReadFromJsonAsync<JsonElement>();
    }

    /// <summary>POST /restores, bounded: the answer must not wait for the restore (which is held back until released).</summary>
    private async Task<JsonElement> AcceptedAsync(object request)
    {
        using var response = await Stack.ApiClient.PostAsJsonAsync("/restores", request).WaitAsync(TimeSpan.FromSeconds(30));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {body}");
        var id = body.GetProperty("id").GetString();
        Assert.Equal($"/restores/{id}", response.Headers.Location?.OriginalString);
        Assert.Equal("Running", body.GetProperty("outcome").GetString());
        return body;
    }

    [Fact]
    public async Task A_restore_longer_than_the_apis_timeout_towards_the_worker_is_accepted_and_completes()
    {
        var backup = await BackupAsync("ra-slow");
        var file = backup.GetProperty("file").GetString()!;
        var atBackup = SqliteRows.Dump(file);
        await using var slow = await SlowBackupFile.ReplaceAsync(file);

        var accepted = await AcceptedAsync(new { backupId = backup.GetProperty("id").GetString(), target = "slow/restored.db" });
        var id = accepted.GetProperty("id").GetString()!;

        // Held back past the API's timeout towards the worker: the restore goes on regardless.
        var held = Stopwatch.StartNew();
        await Task.Delay(ApiWorkerTimeout + TimeSpan.FromSeconds(2));
        Assert.Equal("Running", (await Stack.ApiClient.GetFromJsonAsync<JsonElement>($"/restores/{id}")).GetProperty("outcome").GetString());
        await slow.ReleaseAsync(Patience);

        var ended = await PollAsync($"/restores/{id}");
        Assert.True(ended.GetProperty("outcome").GetString() == "Succeeded", ended.ToString());
        Assert.True(held.Elapsed > ApiWorkerTimeout);
        Assert.Equal(atBackup, SqliteRows.Dump(Path.Combine(Stack.DataDirectory, "restores", "slow", "restored.db")));
    }

    [Fact]
    public async Task A_worker_stopped_during_a_restore_records_it_as_ended_not_running()
    {
        var backup = await BackupAsync("ra-stop");
        await using var slow = await SlowBackupFile.ReplaceAsync(backup.GetProperty("file").GetString()!);
        var accepted = await AcceptedAsync(new { backupId = backup.GetProperty("id").GetString(), target = "stopped/restored.db" });

        // SIGTERM: the host stops its services, the restore among them, within its shutdown timeout (3 s here).
        await Stack.Worker.StopAsync(Patience);

        var record = new RestoreCatalog(new BackupPaths(Stack.DataDirectory, Stack.DataDirectory)).GetRestore(accepted.GetProperty("id").GetString()!);
        Assert.NotNull(record);
        Assert.Equal(RunOutcome.Failed, record.Outcome);
        Assert.NotNull(record.EndedAt);
        Assert.False(File.Exists(Path.Combine(Stack.DataDirectory, "restores", "stopped", "restored.db")));
    }

    private async Task<JsonElement> PollAsync(string path)
    {
        using var bound = new CancellationTokenSource(Patience);
        while (true)
        {
            var record = await Stack.ApiClient.GetFromJsonAsync<JsonElement>(path, bound.Token);
            if (record.GetProperty("outcome").GetString() is not ("Running" or "Queued")) return record;
            await Task.Delay(100, bound.Token);
        }
    }
}
