using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Logging;
using TestSupport;
using Xunit.Abstractions;

namespace BackupWorker.Tests;

/// <summary>
/// Crashes under load: 200 recurring jobs at 1 Hz on one app and backup schedules on the worker, while the scheduler,
/// then the load's sidecar, then the worker's sidecar, then the worker are killed with SIGKILL one at a time and
/// restarted. Every tick of every job must arrive (at least once, as Dapr promises), every job must end after exactly
/// its repeats, every tick of a backup schedule must be backed up exactly once (at least once in, exactly once out),
/// and every backup on disk must be whole.
/// </summary>
public sealed class FaultTests(ITestOutputHelper output)
{
    private const int Jobs = 200;
    private const int Repeats = 30; // enough ticks that each crash below still has load around it on a busy machine
    // Backup ticks every 2 s for about a minute: long enough that the crashes below fall among them.
    private const int BackupRepeats = 30;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(120);

    /// <summary>The app of the load jobs: counts each job's deliveries and answers 200.</summary>
    private sealed class CountingApp : IAsyncDisposable
    {
        private LoopbackApp _app = null!;
        private int _total;
        public ConcurrentDictionary<string, int> Deliveries { get; } = new();
        public int Port => _app.Port;
        public int Total => Volatile.Read(ref _total);

        public static async Task<CountingApp> StartAsync()
        {
            var counting = new CountingApp();
            counting._app = await LoopbackApp.StartAsync(app =>
            {
                app.MapPost("/job/{name}", (string name) =>
                {
                    counting.Deliveries.AddOrUpdate(name, 1, (_, n) => n + 1);
                    Interlocked.Increment(ref counting._total);
                    return Results.Ok();
                });
                app.MapGet("/healthz", () => Results.Ok());
            });
            return counting;
        }

        public ValueTask DisposeAsync() => _app.DisposeAsync();
    }

    [Fact]
    public async Task Scheduler_sidecar_and_worker_killed_in_turn_under_200_jobs_at_1_hz_lose_no_tick_and_corrupt_no_backup()
    {
        await using var stack = await AppStack.StartAsync(withTokens: true);
        await using var load = await CountingApp.StartAsync();
        await using var loadSidecar = await SidecarProcess.StartAsync(new SidecarSettings("load")
        {
            AppPort = load.Port, SchedulerHostAddress = stack.Scheduler.HostAddress, LogLevel = "warn",
        });
        await loadSidecar.WaitForSchedulerStreamAsync();
        using var jobsApi = loadSidecar.Owns(new HttpClient { BaseAddress = new Uri(loadSidecar.HttpEndpoint), Timeout = TimeSpan.FromSeconds(60) });

        string[] schedules = ["fault-a", "fault-b"];
        foreach (var name in schedules)
        {
            var created = await stack.ApiClient.PostAsJsonAsync("/schedules", new
            {
                name, database = "my-prod-db", location = name, schedule = "@every 2s", repeats = BackupRepeats, retention = new { keepLast = 100 },
            });
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }
        for (var i = 0; i < Jobs; i++)
        {
            using var body = new StringContent($$"""{"schedule":"@every 1s","repeats":{{Repeats}},"data":{{i}}}""", Encoding.UTF8, "application/json");
            using var response = await jobsApi.PostAsync($"/v1.0-alpha1/jobs/load-{i}", body);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        }

        async Task LoadFlowsAsync(string after)
        {
            var from = load.Total;
            await Poll.UntilAsync(() => Task.FromResult(load.Total >= from + Jobs), Patience, $"a round of load ticks {after}");
        }

        await LoadFlowsAsync("before the first crash");
        var crashes = new List<string>();
        var killedAt = new List<(string What, DateTimeOffset At)>();
        void Killed(string what, string detail = "")
        {
            killedAt.Add((what, DateTimeOffset.UtcNow));
            crashes.Add($"{what} killed{detail} ({DateTimeOffset.UtcNow:HH:mm:ss.fff})");
        }

        await stack.Scheduler.KillAsync();
        Killed("scheduler", $" at {load.Total} deliveries");
        await stack.Scheduler.RestartAsync();
        await loadSidecar.WaitForSchedulerStreamAsync(Patience);
        await LoadFlowsAsync("after the scheduler restart");

        await loadSidecar.KillAsync();
        Killed("load sidecar", $" at {load.Total} deliveries");
        await loadSidecar.RestartAsync();
        await loadSidecar.WaitForSchedulerStreamAsync(Patience);
        await LoadFlowsAsync("after the sidecar restart");

        // The worker's own sidecar, with backup triggers in flight: the scheduler redelivers them to the new one.
        await stack.WorkerSidecar.KillAsync();
        Killed("worker sidecar");
        await stack.WorkerSidecar.RestartAsync();
        await stack.WorkerSidecar.WaitForSchedulerStreamAsync(Patience);

        Killed("worker", $" at {load.Total} deliveries");
        await stack.KillAndRestartWorkerAsync();

        // The scheduler deletes a job after its last tick's answer: once every job is gone, every count is final.
        var pending = Enumerable.Range(0, Jobs).Select(i => $"load-{i}").ToHashSet();
        await Poll.UntilAsync(async () =>
        {
            foreach (var name in pending.ToList())
            {
                using var response = await jobsApi.GetAsync($"/v1.0-alpha1/jobs/{name}");
                if (response.StatusCode != HttpStatusCode.OK) pending.Remove(name);
                else break;
            }
            return pending.Count == 0;
        }, Patience, "every load job finishing its repeats");
        foreach (var name in schedules) await stack.WaitForJobGoneAsync(name, Patience);

        var expected = Jobs * Repeats;
        var perJob = Enumerable.Range(0, Jobs).Select(i => load.Deliveries.GetValueOrDefault($"load-{i}")).ToList();
        var lost = perJob.Sum(n => Math.Max(0, Repeats - n));
        var duplicated = perJob.Sum(n => Math.Max(0, n - Repeats));
        output.WriteLine($"triggers expected {expected}, delivered {load.Total}, duplicated {duplicated}, lost {lost}; {string.Join("; ", crashes)}");
        Assert.Equal(0, lost);
        Assert.Equal(expected + duplicated, load.Total);

        // Exactly once out, none missing: every tick of a schedule reached the worker and points at one succeeded run
        // (its own backup, or a later run's that started after it, as for an overdue burst), and every backup a trigger
        // made answers a tick: a tick backed up twice would leave one of its copies answering none. The worker's
        // failure policy (Backup:TriggerRetryInterval, TriggerRetryFor) keeps retrying a tick while the worker or its
        // sidecar restarts, where Dapr's default (1 s, 3 retries) gave it up before the worker was back.
        using (var catalog = new SqliteConnection(new SqliteConnectionStringBuilder
               { DataSource = Path.Combine(stack.DataDirectory, "catalog.db"), Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
        {
            catalog.Open();
            foreach (var name in schedules)
            {
                var ticks = Query(catalog,
                    "SELECT tick, run_id, succeeded, recorded_at FROM trigger_ticks WHERE schedule_instance IN (SELECT schedule_instance FROM runs WHERE schedule = $s) ORDER BY tick",
                    name, r => (Tick: r.GetString(0), RunId: r.IsDBNull(1) ? null : r.GetString(1), Succeeded: r.GetInt64(2) != 0,
                        Late: DateTimeOffset.Parse(r.GetString(3), System.Globalization.CultureInfo.InvariantCulture) - DateTimeOffset.Parse(r.GetString(0), System.Globalization.CultureInfo.InvariantCulture)));
                var made = Query(catalog, "SELECT id FROM runs WHERE schedule = $s AND trigger = 'job' AND outcome = 'Succeeded'", name, r => r.GetString(0)).ToHashSet();
                var answering = ticks.Where(t => t.Succeeded).Select(t => t.RunId!).ToHashSet();
                var unfinished = ticks.Count(t => !t.Succeeded);
                var unanswered = made.Except(answering).Count();
                var first = DateTimeOffset.Parse(ticks[0].Tick, System.Globalization.CultureInfo.InvariantCulture);
                var last = DateTimeOffset.Parse(ticks[^1].Tick, System.Globalization.CultureInfo.InvariantCulture);
                output.WriteLine($"{name}: {BackupRepeats} ticks scheduled ({first:HH:mm:ss} to {last:HH:mm:ss}), {ticks.Count} reached the worker, " +
                    $"{unfinished} unfinished; {made.Count} backups made by triggers, {unanswered} answering no tick; " +
                    $"slowest tick answered {ticks.Max(t => t.Late).TotalSeconds:0.0} s after its time; per tick (answered after): " +
                    string.Join(", ", ticks.Select(t => $"{t.Tick[11..19]}->{(t.Succeeded ? t.RunId![..8] : "unfinished")} {t.Late.TotalSeconds:0.0}s")));
                Assert.Subset(made, answering);
                Assert.True(unanswered == 0 && unfinished == 0, $"{name}: {unanswered} backups answer no tick, {unfinished} tick records unfinished");
                Assert.Equal(BackupRepeats, ticks.Count);
                // The crashes fell among the ticks: there were ticks before the first and after the last.
                Assert.True(first < killedAt[0].At && last > killedAt[^1].At,
                    $"{name}: ticks {first:HH:mm:ss.fff} to {last:HH:mm:ss.fff} do not span the crashes ({string.Join("; ", crashes)})");
            }
        }

        // Every backup the worker kept is whole: its checksum file matches and it holds the source's rows.
        var source = SqliteRows.Dump(Path.Combine(stack.DataDirectory, "databases", "my-prod-db.db"));
        var backups = 0;
        foreach (var name in schedules)
        {
            var directory = Path.Combine(stack.DataDirectory, "backups", name);
            Assert.Empty(Directory.EnumerateFiles(directory, "*.partial", SearchOption.AllDirectories));
            foreach (var file in Directory.EnumerateFiles(directory, "*.db", SearchOption.AllDirectories))
            {
                var checksum = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(file)));
                Assert.StartsWith(checksum + "  ", await File.ReadAllTextAsync(file + ".sha256"));
                Assert.Equal(source, SqliteRows.Dump(file));
                backups++;
            }
            var runs = await stack.ApiClient.GetFromJsonAsync<JsonElement[]>($"/runs?schedule={name}&limit=1000");
            Assert.Contains(runs!, r => r.GetProperty("outcome").GetString() == "Succeeded");
        }
        output.WriteLine($"backups on disk {backups}, all verified");
        Assert.True(backups > 0);
    }

    private static List<T> Query<T>(SqliteConnection connection, string sql, string schedule, Func<SqliteDataReader, T> read)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Parameters.AddWithValue("$s", schedule);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read()) rows.Add(read(reader));
        return rows;
    }
}
