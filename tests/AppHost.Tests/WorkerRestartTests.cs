using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Platform.Hosting.Dapr;
using TestSupport;

namespace AppHost.Tests;

/// <summary>A worker killed mid-schedule: the scheduler holds its triggers, and a restart gets every one of them.</summary>
public sealed class WorkerRestartTests
{
    private const int Repeats = 15;
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task A_killed_worker_gets_its_held_triggers_after_a_restart_and_dispose_leaves_no_process()
    {
        IReadOnlyCollection<int> pids;
        TestSupport.RuntimeTempFiles runtimeFiles;
        string dataDirectory;
        await using (var app = await RunningApp.StartAsync(
                         ["--Demo:Schedule=@every 2s", $"--Demo:Repeats={Repeats}", "--Demo:KeepLast=100"], waitForCleanup: true))
        {
            dataDirectory = app.DataDirectory;
            using var api = app.CreateHttpClient("backupapi");
            using var sidecar = app.App.CreateHttpClient("backupworker-dapr", "http");
            sidecar.DefaultRequestHeaders.Add("dapr-api-token", await app.ParameterValueAsync(DaprHostingExtensions.DaprApiTokenParameterFor("backupworker")));
            await Poll.UntilAsync(async () => await SucceededJobRunsAsync(api) >= 1 ? true : (bool?)null, Timeout, "a first backup");

            // DCP runs a project through `dotnet run`; the resource's pid is that wrapper's, the worker is its child.
            var wrapper = app.ProcessIdOf("backupworker");
            var victim = Assert.Single(TestSupport.ProcessProbe.ChildrenOf(wrapper));
            var victimFiles = TestSupport.RuntimeTempFiles.OfTree(victim);
            using (var process = System.Diagnostics.Process.GetProcessById(victim)) process.Kill(); // SIGKILL, as a crash
            var killedAt = DateTimeOffset.UtcNow;
            await app.Notifications.WaitForResourceAsync("backupworker", e => e.Snapshot.State?.Text != KnownResourceStates.Running)
                .WaitAsync(Timeout);
            victimFiles.Remove();
            // The sidecar's app health probe sees the worker gone and closes its job streams.
            await Poll.UntilAsync(async () => AppHealth(await sidecar.GetJsonAsync("/v1.0/metadata")) == "unhealthy" ? true : (bool?)null,
                Timeout, "the sidecar marking its app unhealthy");
            var heldFrom = DateTimeOffset.UtcNow;
            // The scheduler's own word that a trigger fell due and is held for want of a consumer, as the dashboard shows it.
            await app.Notifications.WaitForResourceAsync("prod-db-backup", e => e.Resource is DaprJobResource && e.Snapshot.State?.Text == "Held")
                .WaitAsync(Timeout);

            var commands = app.App.Services.GetRequiredService<ResourceCommandService>();
            var started = await commands.ExecuteCommandAsync("backupworker", KnownResourceCommands.StartCommand);
            Assert.True(started.Success, started.Message);
            await app.Notifications.WaitForResourceHealthyAsync("backupworker").WaitAsync(Timeout);
            Assert.NotEqual(wrapper, app.ProcessIdOf("backupworker"));
            Assert.False(TestSupport.ProcessProbe.IsAlive(victim));

            // The job ends after its last repeat; by then every tick, held ones included, has made its backup.
            await Poll.UntilAsync(async () =>
            {
                var schedule = await api.GetJsonAsync("/schedules/prod-db-backup");
                return schedule.GetProperty("job").ValueKind == JsonValueKind.Null ? true : (bool?)null;
            }, Timeout, "the job finishing its repeats");
            var runs = await JobRunsAsync(api);
            var succeeded = runs.Where(Succeeded).ToDictionary(r => r.GetProperty("id").GetString()!, r => r.GetProperty("startedAt").GetDateTimeOffset());
            // None lost, none twice: every tick has exactly one backup, its own run or, for the ticks held while the
            // worker was down and delivered together at its restart, the first run that started after them. The
            // worker's tick records say which run answered each tick.
            var ticks = TickRecords(Path.Combine(dataDirectory, "backupworker", "catalog.db"));
            var story = $"killed at {killedAt:O}, held from {heldFrom:O}; ticks: " + string.Join(", ", ticks.Select(t => $"{t.Tick:HH:mm:ss.fff}->{t.RunId?[..8]}"))
                + "; runs: " + string.Join(", ", runs.Select(r => $"{r.GetProperty("startedAt").GetDateTimeOffset():HH:mm:ss.fff} {r.GetProperty("outcome").GetString()}"));
            Assert.True(ticks.Count(t => t.Succeeded) == Repeats, story);
            Assert.All(ticks.Where(t => t.Succeeded), t => Assert.True(t.RunId is not null && succeeded.TryGetValue(t.RunId, out var started) && started >= t.Tick, story));
            // Only runs that answered a tick: a held burst made one backup, not one per tick.
            Assert.True(succeeded.Keys.All(id => ticks.Any(t => t.RunId == id)), story);
            Assert.Contains(succeeded.Values, started => started > heldFrom);
            pids = app.ProcessIds;
            runtimeFiles = TestSupport.RuntimeTempFiles.Of(pids);
        }

        Assert.NotEmpty(pids);
        Assert.All(pids, pid => Assert.False(TestSupport.ProcessProbe.IsAlive(pid), $"pid {pid} outlived the app"));
        Assert.Empty(TestSupport.ProcessProbe.Mentioning(dataDirectory));
        Assert.Empty(TestSupport.ProcessProbe.Mentioning($"--monitor {Environment.ProcessId}"));
        Assert.False(Directory.Exists(dataDirectory), "the data directory is deleted on dispose");
        Assert.Empty(runtimeFiles.Remaining);
    }

    private static async Task<int> SucceededJobRunsAsync(HttpClient api) => (await JobRunsAsync(api)).Count(Succeeded);

    /// <summary>The how-to job's runs started by its triggers (not by run-now).</summary>
    private static async Task<List<JsonElement>> JobRunsAsync(HttpClient api)
        => (await api.GetJsonAsync("/runs?schedule=prod-db-backup&limit=1000")).EnumerateArray()
            .Where(r => r.GetProperty("trigger").GetString() == "job").ToList();

    /// <summary>The worker's record of each tick of its live schedule instances: when it fell due, and which run backed it up.</summary>
    private static List<(DateTimeOffset Tick, string? RunId, bool Succeeded)> TickRecords(string catalog)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={catalog};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT tick, run_id, succeeded FROM trigger_ticks ORDER BY tick";
        using var reader = command.ExecuteReader();
        var ticks = new List<(DateTimeOffset, string?, bool)>();
        while (reader.Read())
            ticks.Add((DateTimeOffset.Parse(reader.GetString(0), System.Globalization.CultureInfo.InvariantCulture), reader.IsDBNull(1) ? null : reader.GetString(1), reader.GetInt64(2) != 0));
        return ticks;
    }

    private static bool Succeeded(JsonElement run) => run.GetProperty("outcome").GetString() == "Succeeded";

    private static string? AppHealth(JsonElement metadata)
        => metadata.TryGetProperty("extended", out var extended) && extended.TryGetProperty("appHealth", out var health) ? health.GetString() : null;
}
