using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Platform.Jobs.Models;

namespace BackupWorker.Tests;

/// <summary>One running stack (scheduler, two sidecars, BackupWorker, BackupApi) shared by the tests of a class.</summary>
public sealed class BackupStackFixture : IAsyncLifetime
{
    public AppStack Stack { get; private set; } = null!;

    // Secured like a real deployment: every app -> sidecar call carries DAPR_API_TOKEN, every sidecar -> app call APP_API_TOKEN.
    public async Task InitializeAsync() => Stack = await AppStack.StartAsync(withTokens: true);

    public async Task DisposeAsync() => await Stack.DisposeAsync();
}

/// <summary>Through real processes: BackupApi → (Dapr invocation) → BackupWorker → its sidecar → scheduler → triggers back.</summary>
public class BackupStackTests(BackupStackFixture fixture) : IClassFixture<BackupStackFixture>
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);
    private AppStack Stack => fixture.Stack;

    private static Func<string, bool> Succeeded(string schedule) =>
        l => l.Contains("Backup run ", StringComparison.Ordinal) && l.Contains($"of schedule {schedule} succeeded", StringComparison.Ordinal);

    [Fact]
    public async Task Schedule_created_through_the_api_produces_verified_backups_listed_in_the_catalog()
    {
        var create = await Stack.ApiClient.PostAsJsonAsync("/schedules", new
        {
            name = "it-every-second", database = "my-prod-db", location = "it", schedule = "@every 1s", repeats = 3,
            retention = new { keepLast = 10 },
        });
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        var created = await create.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("it-every-second", created.GetProperty("name").GetString());
        Assert.Equal("@every 1s", created.GetProperty("job").GetProperty("schedule").GetString());
        Assert.Equal(3, created.GetProperty("job").GetProperty("repeats").GetInt32());

        await Stack.WaitForWorkerLinesAsync(Succeeded("it-every-second"), 3, Patience);
        await Stack.WaitForJobGoneAsync("it-every-second", Patience);   // repeats used up: the counts below are final

        var backups = await Stack.ApiClient.GetFromJsonAsync<JsonElement[]>("/backups?schedule=it-every-second");
        Assert.Equal(3, backups!.Length);
        var source = SqliteRows.Dump(Path.Combine(Stack.DataDirectory, "databases", "my-prod-db.db"));
        foreach (var backup in backups)
        {
            var file = backup.GetProperty("file").GetString()!;
            Assert.StartsWith(Path.Combine(Stack.DataDirectory, "backups", "it"), file);
            var checksum = Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(file)));
            Assert.Equal(checksum, backup.GetProperty("checksum").GetString());
            Assert.StartsWith(checksum + "  ", await File.ReadAllTextAsync(file + ".sha256"));
            Assert.Equal(source, SqliteRows.Dump(file));
        }

        var schedule = await Stack.ApiClient.GetFromJsonAsync<JsonElement>("/schedules/it-every-second");
        var runs = schedule.GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(3, runs.Count);
        Assert.All(runs, r => Assert.Equal("Succeeded", r.GetProperty("outcome").GetString()));
        Assert.All(runs, r => Assert.Equal("job", r.GetProperty("trigger").GetString()));
    }

    [Fact]
    public async Task Deleting_a_schedule_stops_its_triggers()
    {
        var create = await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = "it-delete-me", database = "my-prod-db", schedule = "@every 1s" });
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);
        await Stack.WaitForWorkerLinesAsync(Succeeded("it-delete-me"), 1, Patience);

        var delete = await Stack.ApiClient.DeleteAsync("/schedules/it-delete-me");
        Assert.Equal(HttpStatusCode.NoContent, delete.StatusCode);
        var runsAtDelete = (await Stack.ApiClient.GetFromJsonAsync<JsonElement[]>("/runs?schedule=it-delete-me"))!.Length;

        // A clock to measure "later" by: a fresh job whose three triggers span more than two periods of the deleted one.
        Assert.Equal(HttpStatusCode.Created, (await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = "it-sentinel", database = "my-prod-db", schedule = "@every 1s", repeats = 3 })).StatusCode);
        await Stack.WaitForWorkerLinesAsync(Succeeded("it-sentinel"), 3, Patience);

        var runsLater = (await Stack.ApiClient.GetFromJsonAsync<JsonElement[]>("/runs?schedule=it-delete-me"))!.Length;
        // Dapr may still deliver one trigger that was already in flight when the job was deleted; no more than that.
        Assert.InRange(runsLater, runsAtDelete, runsAtDelete + 1);
        var after = await Stack.ApiClient.GetAsync("/schedules/it-delete-me");
        Assert.Equal(HttpStatusCode.NotFound, after.StatusCode);
        Assert.Equal("application/problem+json", after.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task A_past_due_time_replays_its_missed_ticks_and_the_worker_makes_them_one_backup()
    {
        // Four ticks lie in the past (the bound is five): the scheduler fires them back-to-back at creation (Dapr's
        // catch-up); the next tick is 55 s away, so every trigger of the burst arrives before it.
        var due = DateTimeOffset.UtcNow.AddSeconds(-185);
        var create = await Stack.ApiClient.PostAsJsonAsync("/schedules", new
        {
            name = "it-burst", database = "my-prod-db", schedule = "@every 60s", repeats = 4,
            dueTime = due.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture),
        });
        Assert.Equal(HttpStatusCode.Created, create.StatusCode);

        await Stack.WaitForJobGoneAsync("it-burst", Patience); // all four triggers answered

        var runs = await Stack.ApiClient.GetFromJsonAsync<JsonElement[]>("/runs?schedule=it-burst");
        var run = Assert.Single(runs!);
        Assert.Equal("Succeeded", run.GetProperty("outcome").GetString());
        await Stack.WaitForWorkerLinesAsync(l => l.Contains("Job trigger of schedule it-burst received", StringComparison.Ordinal) && l.Contains("coalesced", StringComparison.Ordinal), 3, Patience);
    }

    [Fact]
    public async Task Run_now_makes_a_manual_backup()
    {
        Assert.Equal(HttpStatusCode.Created, (await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = "it-manual", database = "my-prod-db", schedule = "@yearly" })).StatusCode);

        var response = await Stack.ApiClient.PostAsync("/schedules/it-manual/run", null);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var run = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Succeeded", run.GetProperty("outcome").GetString());
        Assert.Equal("manual", run.GetProperty("trigger").GetString());
        Assert.True(File.Exists(run.GetProperty("file").GetString()));
        Assert.Equal(HttpStatusCode.NotFound, (await Stack.ApiClient.PostAsync("/schedules/it-nothing/run", null)).StatusCode);
    }

    [Fact]
    public async Task Invalid_requests_are_problem_details_with_the_reason()
    {
        var missing = await Stack.ApiClient.PostAsJsonAsync("/schedules", new { schedule = "@daily" });
        Assert.Equal(HttpStatusCode.BadRequest, missing.StatusCode);
        var problem = await missing.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(problem.GetProperty("errors").TryGetProperty("database", out _));

        // Known only to the worker: its validation comes back through the API unchanged.
        var unknown = await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = "it-ghost", database = "ghost", schedule = "@daily" });
        Assert.Equal(HttpStatusCode.BadRequest, unknown.StatusCode);
        var unknownProblem = await unknown.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("Unknown database 'ghost'", unknownProblem.GetProperty("errors").GetProperty("database")[0].GetString());

        // Dapr's own validation of the schedule: 400 with the runtime's message as the detail.
        var fiveFields = await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = "it-five-fields", database = "my-prod-db", schedule = "* * * * *" });
        Assert.Equal(HttpStatusCode.BadRequest, fiveFields.StatusCode);
        var daprProblem = await fiveFields.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Contains("6 fields", daprProblem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Stack.ApiClient.GetAsync("/schedules/it-five-fields")).StatusCode);

        Assert.Equal(HttpStatusCode.Created, (await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = "it-twice", database = "my-prod-db", schedule = "@yearly", retention = new { keepLast = 4 } })).StatusCode);
        var twice = await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = "it-twice", database = "my-prod-db", location = "backups/elsewhere", schedule = "@daily", retention = new { keepLast = 1 } });
        Assert.Equal(HttpStatusCode.Conflict, twice.StatusCode);
        Assert.Contains("already exists", (await twice.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        // Refused: the worker's catalog row and the job are still the first request's.
        var kept = await Stack.ApiClient.GetFromJsonAsync<JsonElement>("/schedules/it-twice");
        Assert.Equal(("@yearly", "my-prod-db", 4), (kept.GetProperty("schedule").GetString(), kept.GetProperty("location").GetString(), kept.GetProperty("retention").GetProperty("keepLast").GetInt32()));
        Assert.Equal("@yearly", kept.GetProperty("job").GetProperty("schedule").GetString());
        var overwrite = await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = "it-twice", database = "my-prod-db", schedule = "@monthly", overwrite = true });
        Assert.Equal(HttpStatusCode.Created, overwrite.StatusCode);
        Assert.Equal("@monthly", (await Stack.ApiClient.GetFromJsonAsync<JsonElement>("/schedules/it-twice")).GetProperty("job").GetProperty("schedule").GetString());
    }

    [Fact]
    public async Task A_trigger_for_an_unknown_database_is_a_failed_run_and_is_retried()
    {
        // Scheduled directly on the worker's sidecar (the API would refuse it): the worker receives a trigger it cannot honour.
        using var jobs = Stack.WorkerJobsClient();
        await jobs.ScheduleJobAsync("it-unknown-db", DaprJobSchedule.FromExpression("@every 1s"),
            Backups.BackupPayload.ForDatabase("ghost", "backups/ghost").ToUtf8Json(), repeats: 1,
            failurePolicyOptions: new JobFailurePolicyConstantOptions(TimeSpan.FromMilliseconds(200)) { MaxRetries = 2 });

        // One trigger, answered 500, retried twice by the failure policy: three failed runs, and the worker still serves.
        await Stack.WaitForWorkerLinesAsync(l => l.Contains("of schedule it-unknown-db failed: Unknown database 'ghost'", StringComparison.Ordinal), 3, Patience);
        await Stack.WaitForJobGoneAsync("it-unknown-db", Patience);     // retries and repeats used up: no fourth delivery can follow
        var runs = await Stack.ApiClient.GetFromJsonAsync<JsonElement[]>("/runs?schedule=it-unknown-db");
        Assert.Equal(3, runs!.Length);
        Assert.All(runs, r => Assert.Equal("Failed", r.GetProperty("outcome").GetString()));
        Assert.False(Stack.Worker.HasExited);
        Assert.Equal(HttpStatusCode.OK, (await Stack.ApiClient.GetAsync("/schedules")).StatusCode);
    }

    [Fact]
    public async Task Api_serves_openapi_and_a_local_reference_page()
    {
        var document = await Stack.ApiClient.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/schedules", "/schedules/{name}", "/schedules/{name}/run", "/backups" })
            Assert.True(paths.TryGetProperty(path, out _), path);

        var page = await Stack.ApiClient.GetStringAsync("/scalar/v1");
        Assert.Contains("<script src=\"scalar.js\"></script>", page);
        Assert.DoesNotContain("https://", page); // No CDN: every asset comes from this app.
        var script = await Stack.ApiClient.GetAsync("/scalar/scalar.js");
        Assert.Equal(HttpStatusCode.OK, script.StatusCode);
        Assert.Equal("Healthy", await Stack.ApiClient.GetStringAsync("/health"));
    }
}
