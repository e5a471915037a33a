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
            sidecar.DefaultRequestHeaders.Add("dapr-api-token", await app.ParameterValueAsync(DaprHostingExtensions.DaprApiTokenParameter));
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
            var succeeded = runs.Where(Succeeded).ToList();
            // None lost. Delivery is at least once, as Dapr's: a trigger that was in flight at the crash may run twice.
            Assert.True(succeeded.Count is >= Repeats and <= Repeats + 1, $"killed at {killedAt:O}, held from {heldFrom:O}; runs: " + string.Join(", ", runs.Select(r => $"{r.GetProperty("startedAt").GetDateTimeOffset():HH:mm:ss.fff} {r.GetProperty("outcome").GetString()}")));
            Assert.Contains(runs, r => r.GetProperty("startedAt").GetDateTimeOffset() > heldFrom);
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

    private static bool Succeeded(JsonElement run) => run.GetProperty("outcome").GetString() == "Succeeded";

    private static string? AppHealth(JsonElement metadata)
        => metadata.TryGetProperty("extended", out var extended) && extended.TryGetProperty("appHealth", out var health) ? health.GetString() : null;
}
