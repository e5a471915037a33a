using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using TestSupport;

namespace BackupWorker.Tests;

/// <summary>BackupWorker alone (its build output, as a process), driven the way a sidecar delivers triggers.</summary>
public class WorkerProcessTests
{
    private sealed class Worker : IAsyncDisposable
    {
        public required TestProcess Process { get; init; }
        public required HttpClient Http { get; init; }
        public required string DataDirectory { get; init; }

        public async ValueTask DisposeAsync()
        {
            Http.Dispose();
            await Process.DisposeAsync();
            try { Directory.Delete(DataDirectory, recursive: true); } catch (IOException) { }
        }
    }

    private static async Task<Worker> StartWorkerAsync(IDictionary<string, string?>? extra = null, Action<string>? prepare = null)
    {
        var port = FreePort.Next();
        var data = Directory.CreateTempSubdirectory("backupworker-proc-").FullName;
        prepare?.Invoke(data);
        var env = new Dictionary<string, string?>
        {
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["Backup__DataDirectory"] = data,
            ["Demo__Enabled"] = "false",
            // No sidecar here: nothing listens on this port.
            ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{FreePort.Next()}",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string?>()) env[k] = v;
        var process = TestProcess.StartDotnet("backupworker", RepoPaths.ProjectOutput("BackupWorker", "BackupWorker"), [], env);
        try
        {
            await process.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }
        catch
        {
            // A failed start-up must not leave the process or its directory behind.
            await process.DisposeAsync();
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
            throw;
        }
        return new Worker { Process = process, Http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) }, DataDirectory = data };
    }

    private static StringContent Payload(string db, string location) =>
        new($"{{\"task\":\"db-backup\",\"metadata\":{{\"DBName\":\"{db}\",\"BackupLocation\":\"{location}\"}}}}", Encoding.UTF8, "application/json");

    [Fact]
    public async Task Trigger_with_the_how_to_payload_backs_up_the_seeded_database()
    {
        await using var worker = await StartWorkerAsync();

        var response = await worker.Http.PostAsync("/job/prod-db-backup", Payload("my-prod-db", "my-prod-db"));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var run = await response.Content.ReadFromJsonAsync<JsonElement>();
        var file = run.GetProperty("file").GetString()!;
        Assert.StartsWith(Path.Combine(worker.DataDirectory, "backups", "my-prod-db"), file);
        Assert.Equal(SqliteRows.Dump(Path.Combine(worker.DataDirectory, "databases", "my-prod-db.db")), SqliteRows.Dump(file));
        Assert.Equal(250, SqliteRows.Dump(file).Count);
    }

    [Fact]
    public async Task Trigger_for_an_unknown_database_answers_500_and_records_a_failed_run()
    {
        await using var worker = await StartWorkerAsync();

        var response = await worker.Http.PostAsync("/job/ghost-backup", Payload("ghost", "ghost"));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var runs = await worker.Http.GetFromJsonAsync<JsonElement[]>("/runs?schedule=ghost-backup");
        var run = Assert.Single(runs!);
        Assert.Equal("Failed", run.GetProperty("outcome").GetString());
        Assert.StartsWith("Unknown database 'ghost'", run.GetProperty("error").GetString());
        Assert.Equal(HttpStatusCode.OK, (await worker.Http.GetAsync("/health")).StatusCode);

        var garbage = await worker.Http.PostAsync("/job/garbage", new StringContent("not json", Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.InternalServerError, garbage.StatusCode);
    }

    [Fact]
    public async Task Two_concurrent_deliveries_of_one_trigger_never_run_at_once()
    {
        await using var worker = await StartWorkerAsync();

        var responses = await Task.WhenAll(Enumerable.Range(0, 2).Select(_ => worker.Http.PostAsync("/job/prod-db-backup", Payload("my-prod-db", "twice"))));

        // Refused (409) while the other runs, or run after it: never two at once, each run a complete backup.
        Assert.All(responses, r => Assert.Contains(r.StatusCode, new[] { HttpStatusCode.OK, HttpStatusCode.Conflict }));
        var ok = responses.Count(r => r.StatusCode == HttpStatusCode.OK);
        Assert.True(ok >= 1);
        var files = Directory.GetFiles(Path.Combine(worker.DataDirectory, "backups", "twice"), "*.db");
        Assert.Equal(ok, files.Length);
        var expected = SqliteRows.Dump(Path.Combine(worker.DataDirectory, "databases", "my-prod-db.db"));
        Assert.All(files, f => Assert.Equal(expected, SqliteRows.Dump(f)));
        Assert.Empty(Directory.GetFiles(Path.Combine(worker.DataDirectory, "backups", "twice"), "*.partial"));
    }

    [Fact]
    public async Task Trigger_or_schedule_with_a_location_outside_the_root_is_refused_and_creates_nothing()
    {
        var outside = Directory.CreateTempSubdirectory("backupworker-outside-").FullName;
        try
        {
            await using var worker = await StartWorkerAsync();
            var name = Path.GetFileName(outside);
            // A job scheduled straight on the sidecar delivers its payload the same way: a trigger of an unknown schedule.
            string[] locations = [outside, outside + "/loot", $"../{name}/loot", $"backups/../../{name}", "/tmp"];
            foreach (var location in locations)
            {
                var response = await worker.Http.PostAsync("/job/evil", Payload("my-prod-db", location));
                Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
            }
            var runs = await worker.Http.GetFromJsonAsync<JsonElement[]>("/runs?schedule=evil");
            Assert.Equal(locations.Length, runs!.Length);
            Assert.All(runs, r => Assert.Equal("Failed", r.GetProperty("outcome").GetString()));
            Assert.All(runs, r => Assert.Contains("outside the backup root", r.GetProperty("error").GetString()));

            var create = await worker.Http.PostAsJsonAsync("/schedules", new { name = "evil", database = "my-prod-db", schedule = "@daily", location = $"../{name}" });
            Assert.Equal(HttpStatusCode.BadRequest, create.StatusCode);
            Assert.True((await create.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").TryGetProperty("location", out _));

            Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
            Assert.Empty(await worker.Http.GetFromJsonAsync<JsonElement[]>("/backups") ?? []);
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Trigger_of_a_known_schedule_backs_up_to_the_catalogs_location_not_the_payloads()
    {
        var outside = Directory.CreateTempSubdirectory("backupworker-outside-").FullName;
        try
        {
            await using var worker = await StartWorkerAsync();
            var catalog = new BackupCatalog(new BackupPaths(worker.DataDirectory, worker.DataDirectory));
            catalog.UpsertSchedule(new ScheduleRecord("nightly", "my-prod-db", "nightly", "@daily", null, null, null, new RetentionRule(null, null), DateTimeOffset.UtcNow));

            var response = await worker.Http.PostAsync("/job/nightly", Payload("my-prod-db", outside));

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var file = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("file").GetString()!;
            Assert.Equal(Path.Combine(worker.DataDirectory, "backups", "nightly"), Path.GetDirectoryName(file));
            Assert.Empty(Directory.EnumerateFileSystemEntries(outside));
        }
        finally
        {
            Directory.Delete(outside, recursive: true);
        }
    }

    [Fact]
    public async Task Partial_leftovers_of_a_crashed_run_are_swept_at_start()
    {
        string[] leftovers = ["backups/x/.my-prod-db-1.db.partial", "backups/x/.my-prod-db-1.db.sha256.partial", "backups/y/z/.q.db.partial"];
        await using var worker = await StartWorkerAsync(prepare: data =>
        {
            foreach (var file in leftovers.Append("backups/x/kept.db"))
            {
                Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(data, file))!);
                File.WriteAllText(Path.Combine(data, file), "half a backup");
            }
        });

        Assert.All(leftovers, f => Assert.False(File.Exists(Path.Combine(worker.DataDirectory, f)), f));
        Assert.True(File.Exists(Path.Combine(worker.DataDirectory, "backups/x/kept.db")));
        await worker.Process.WaitForOutputAsync(l => l.Contains("Removed 3 partial backup file(s)", StringComparison.Ordinal), TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task App_api_token_is_required_when_configured()
    {
        await using var worker = await StartWorkerAsync(new Dictionary<string, string?> { ["APP_API_TOKEN"] = "app-secret" });

        var without = await worker.Http.PostAsync("/job/prod-db-backup", Payload("my-prod-db", "t"));
        Assert.Equal(HttpStatusCode.Unauthorized, without.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await worker.Http.GetAsync("/runs")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await worker.Http.GetAsync("/health")).StatusCode);

        using var request = new HttpRequestMessage(HttpMethod.Post, "/job/prod-db-backup") { Content = Payload("my-prod-db", "t") };
        request.Headers.Add("dapr-api-token", "app-secret");
        Assert.Equal(HttpStatusCode.OK, (await worker.Http.SendAsync(request)).StatusCode);
    }

    [Fact]
    public async Task Sidecar_down_is_a_503_problem_not_a_crash()
    {
        await using var worker = await StartWorkerAsync();
        // The worker's own catalog file: its schedules table holds the row (GET /schedules needs the sidecar too).
        var catalog = new BackupCatalog(new BackupPaths(worker.DataDirectory, worker.DataDirectory));
        // With overwrite the row is written before the sidecar is asked, so this also takes the roll-back path.
        foreach (var overwrite in new[] { false, true })
        {
            var response = await worker.Http.PostAsJsonAsync("/schedules", new { name = "x", database = "my-prod-db", schedule = "@daily", overwrite });
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("Sidecar unavailable", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("title").GetString());
            Assert.Null(catalog.GetSchedule("x"));
            Assert.Empty(catalog.ListSchedules());
        }
        Assert.False(worker.Process.HasExited);
    }

    [Fact]
    public async Task Telemetry_is_exported_over_otlp_when_the_endpoint_is_set()
    {
        // Every trace export up to the one holding the /runs span: the /health span, ended earlier, is in one of them if anywhere.
        var traceBodies = new ConcurrentQueue<string>();
        var traces = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var logs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var metrics = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var otlp = await LoopbackApp.StartAsync(app => app.MapPost("/v1/{signal}", async (string signal, HttpRequest request) =>
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            var text = Encoding.UTF8.GetString(body);
            if (signal == "traces" && !traces.Task.IsCompleted)
            {
                traceBodies.Enqueue(text);
                if (text.Contains("/runs", StringComparison.Ordinal)) traces.TrySetResult();
            }
            if (signal == "logs" && text.Contains("Application started", StringComparison.Ordinal)) logs.TrySetResult();
            if (signal == "metrics" && text.Contains("http.server.request.duration", StringComparison.Ordinal)) metrics.TrySetResult();
            return Results.Ok();
        }));
        var otlpPort = otlp.Port;

        await using var worker = await StartWorkerAsync(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{otlpPort}",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "backupworker",
            ["OTEL_BSP_SCHEDULE_DELAY"] = "500",
            ["OTEL_BLRP_SCHEDULE_DELAY"] = "500",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        });
        Assert.Equal(HttpStatusCode.OK, (await worker.Http.GetAsync("/health")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await worker.Http.GetAsync("/runs")).StatusCode);

        await Task.WhenAll(traces.Task, logs.Task, metrics.Task).WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Contains("backupworker", traceBodies.Last());
        Assert.All(traceBodies, text => Assert.DoesNotContain("/health", text)); // Health probes are filtered out of tracing.
        await otlp.StopAsync();
    }
}
