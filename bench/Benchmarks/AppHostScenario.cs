using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;

namespace Benchmarks;

/// <summary>
/// Issue 26, item 6: the whole application under the real AppHost (DCP's proxies in the path). N backup schedules
/// <c>@every 1s</c>, created through BackupApi as an operator does, each with its first tick at its own offset in the
/// second and spread over D SQLite databases, so N triggers/s reach BackupWorker's <c>/job/{name}</c> through the
/// scheduler and the worker's sidecar. Every trigger is a real backup (SQLite's online backup, fsync, integrity check,
/// checksum, catalog), run under the worker's default concurrency limits.
/// Measured: how late each trigger reached the worker's handler after its tick (the worker logs it, from the tick our
/// sidecar sends), the backups the worker started and finished per second, and the outcome of every run.
/// </summary>
public static partial class AppHostScenario
{
    public const double TargetP99Milliseconds = 20;

    public static async Task RunAsync(BenchOptions o)
    {
        var schedules = o.Int("schedules", 1000);
        var databases = o.Int("databases", 8);
        var seconds = o.Double("seconds", 10);
        var warmup = o.Double("warmup", 10);
        var table = new Table(
            $"apphost: {schedules:N0} backup schedules @every 1s over {databases} SQLite databases, created through BackupApi, under the real AppHost; {seconds:0} s after {warmup:0} s warm-up",
            "triggers/s due", "triggers/s at the handler", "handler late p50/p99/max ms", "backups started/s", "succeeded/s", "failed", "load avg",
            $"verdict (p99 <= {TargetP99Milliseconds:0} ms)");
        var directory = System.IO.Directory.CreateTempSubdirectory("bench-apphost-").FullName;
        var load = new List<string>();
        AppHostRun? app = null;
        using var watching = new CancellationTokenSource();
        Task? watcher = null;
        try
        {
            string[] args =
            [
                "--Demo:Enabled=false",
                // The window's runs must all still be listed when it ends.
                "--Backup:RunHistoryMaxCount=1000000",
                .. Enumerable.Range(0, databases).SelectMany(d => new[]
                {
                    $"--Backup:Databases:bench-{d}:Provider=sqlite",
                    $"--Backup:Databases:bench-{d}:ConnectionString=Data Source={CreateDatabase(directory, d)}",
                }),
            ];
            Machine.Note("apphost: starting the AppHost");
            app = await AppHostRun.StartAsync(directory, args, TimeSpan.FromSeconds(180));
            var arrivals = new ConcurrentQueue<(DateTimeOffset Tick, double Late)>();
            watcher = app.WatchLogsAsync("backupworker", line =>
            {
                if (TriggerLine().Match(line) is { Success: true } m)
                    arrivals.Enqueue((DateTimeOffset.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(m.Groups[2].Value, CultureInfo.InvariantCulture)));
            }, watching.Token);
            using var api = app.Api();
            Machine.Note($"apphost: healthy; creating {schedules:N0} schedules");
            // Creating a schedule is a durable write in the worker's catalog and one in the scheduler (a few dozen a
            // second here): the first ticks come after the last schedule is in.
            var first = DateTimeOffset.UtcNow.AddSeconds(o.Double("lead", Math.Max(5, schedules / 15.0)));
            var creating = System.Diagnostics.Stopwatch.StartNew();
            var next = -1;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < schedules)
                {
                    using var response = await api.PostAsJsonAsync("/schedules", new
                    {
                        name = Name(i), database = $"bench-{i % databases}", schedule = "@every 1s",
                        dueTime = EngineScenario.Rfc3339(first + TimeSpan.FromTicks(TimeSpan.TicksPerSecond * i / schedules)),
                        retention = new { keepLast = 2 },
                    });
                    if (!response.IsSuccessStatusCode)
                        throw new InvalidOperationException($"POST /schedules {Name(i)}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            })));
            Machine.Note($"apphost: {schedules:N0} schedules created in {creating.Elapsed.TotalSeconds:0.0} s ({schedules / creating.Elapsed.TotalSeconds:0}/s)");
            if (DateTimeOffset.UtcNow > first) Machine.Note("apphost: creating the schedules ended after the first ticks");
            load.Add(Machine.LoadAverage().Split(' ')[0]);
            var from = first + TimeSpan.FromSeconds(warmup);
            var to = from + TimeSpan.FromSeconds(seconds);
            await Task.Delay(to - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(1));
            load.Add(Machine.LoadAverage().Split(' ')[0]);
            // Stop the load before reading: the listing then competes with nothing.
            Machine.Note("apphost: window over; deleting the schedules");
            next = -1;
            await Task.WhenAll(Enumerable.Range(0, 16).Select(_ => Task.Run(async () =>
            {
                int i;
                while ((i = Interlocked.Increment(ref next)) < schedules)
                    (await api.DeleteAsync($"/schedules/{Name(i)}")).Dispose();
            })));

            var late = new Samples();
            foreach (var (tick, ms) in arrivals)
                if (tick >= from && tick < to) late.Add(ms);
            int started = 0, succeeded = 0, failed = 0;
            var errors = new Dictionary<string, int>();
            for (var d = 0; d < databases; d++)
            {
                using var runs = JsonDocument.Parse(await api.GetStringAsync($"/runs?database=bench-{d}&limit=10000"));
                foreach (var run in runs.RootElement.EnumerateArray())
                {
                    if (run.GetProperty("trigger").GetString() != "job") continue;
                    var startedAt = run.GetProperty("startedAt").GetDateTimeOffset();
                    if (startedAt < from || startedAt >= to) continue;
                    started++;
                    var outcome = run.GetProperty("outcome").GetString();
                    if (outcome == "Succeeded") succeeded++;
                    else if (outcome == "Failed")
                    {
                        failed++;
                        var error = run.TryGetProperty("error", out var e) ? e.ToString() : "";
                        errors[error] = errors.GetValueOrDefault(error) + 1;
                    }
                }
            }
            var s = late.Summarize();
            table.Add(schedules / 1.0, late.Count / seconds, $"{s.P50:0.0}/{s.P99:0.0}/{s.Max:0}", started / seconds, succeeded / seconds, failed,
                string.Join(" / ", load), Verdict.AtMost(s.P99, TargetP99Milliseconds));
            foreach (var (error, count) in errors.OrderByDescending(e => e.Value).Take(3)) Machine.Note($"apphost: {count} runs failed: {error}");
        }
        catch (Exception e)
        {
            table.Add("-", "-", "-", "-", "-", "-", string.Join(" / ", load), "failed: " + e.Message);
        }
        finally
        {
            await watching.CancelAsync();
            if (watcher is not null) await watcher;
            if (app is not null) await app.DisposeAsync();
            else
            {
                try { System.IO.Directory.Delete(directory, recursive: true); }
                catch (IOException) { }
            }
        }
        table.Print();
        Console.WriteLine("handler late = when BackupWorker's handler took the trigger - the tick it is for (the worker's log, from the tick our sidecar sends); " +
                          "backups started/s, succeeded/s: runs BackupApi lists whose start fell in the window.");
    }

    private static string Name(int i) => "bench-" + i.ToString("D5", CultureInfo.InvariantCulture);

    [GeneratedRegex(@"Job trigger received: bench-\d+ \(\d+ payload bytes\), scheduled for ([^,\s]+), (-?[0-9.]+) ms after it", RegexOptions.CultureInvariant)]
    private static partial Regex TriggerLine();

    /// <summary>A small database with some rows, as the worker backs up: the cost of a backup is then its fixed part.</summary>
    private static string CreateDatabase(string directory, int d)
    {
        var path = Path.Combine(directory, $"bench-{d}.db");
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = """
            CREATE TABLE orders(id INTEGER PRIMARY KEY, customer TEXT NOT NULL, total REAL NOT NULL);
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1000)
            INSERT INTO orders(customer, total) SELECT 'customer-' || i, i * 1.5 FROM n;
            """;
        command.ExecuteNonQuery();
        return path;
    }
}
