using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Data.Sqlite;

namespace BackupWorker.Tests;

/// <summary>
/// Restores and drills through real processes: BackupApi (operator key, validation, OpenAPI) → Dapr invocation →
/// BackupWorker (app token) on a real SQLite file.
/// </summary>
public class RestoreStackTests(BackupStackFixture fixture) : IClassFixture<BackupStackFixture>
{
    private AppStack Stack => fixture.Stack;
    private HttpClient Api => Stack.ApiClient;
    private string Source => Path.Combine(Stack.DataDirectory, "databases", "my-prod-db.db");
    private string RestoreRoot => Path.Combine(Stack.DataDirectory, "restores");

    /// <summary>A schedule of its own and one manual backup of it.</summary>
    private async Task<JsonElement> BackupAsync(string schedule)
    {
        var create = await Api.PostAsJsonAsync("/schedules", new { name = schedule, database = "my-prod-db", location = $"backups/{schedule}", schedule = "@yearly" });
        Assert.True(create.StatusCode == HttpStatusCode.Created, await create.Content.ReadAsStringAsync());
        var run = await Api.PostAsync($"/schedules/{schedule}/run", null);
        Assert.True(run.StatusCode == HttpStatusCode.OK, await run.Content.ReadAsStringAsync());
        return await run.Content.ReadFromJsonAsync<JsonElement>();
    }

    private static async Task<(HttpStatusCode Status, JsonElement Body)> PostAsync(HttpClient http, string path, object body)
    {
        using var response = await http.PostAsJsonAsync(path, body);
        Assert.Equal("application/" + (response.IsSuccessStatusCode ? "json" : "problem+json"), response.Content.Headers.ContentType?.MediaType);
        return (response.StatusCode, await response.Content.ReadFromJsonAsync<JsonElement>());
    }

    /// <summary>Polls a restore or drill (<paramref name="path"/>) until its outcome is no longer Running, bounded.</summary>
    private async Task<JsonElement> PollAsync(string path)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        while (true)
        {
            var record = await Api.GetFromJsonAsync<JsonElement>(path, bound.Token);
            if (record.GetProperty("outcome").GetString() is not ("Running" or "Queued")) return record;
            await Task.Delay(100, bound.Token);
        }
    }

    /// <summary>A restore that must be accepted (202, Location to poll), polled to its end.</summary>
    private async Task<JsonElement> RestoreAsync(object body)
    {
        using var response = await Api.PostAsJsonAsync("/restores", body);
        var accepted = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.Accepted, $"{response.StatusCode}: {accepted}");
        Assert.Equal("Running", accepted.GetProperty("outcome").GetString());
        var location = response.Headers.Location?.OriginalString;
        Assert.Equal($"/restores/{accepted.GetProperty("id").GetString()}", location);
        return await PollAsync(location!);
    }

    [Fact]
    public async Task A_restore_through_the_api_brings_back_the_backed_up_rows_and_is_listed_with_who_asked()
    {
        var backup = await BackupAsync("rs-restore");
        var id = backup.GetProperty("id").GetString()!;
        var atBackup = SqliteRows.Dump(backup.GetProperty("file").GetString()!);

        var restore = await RestoreAsync(new { backupId = id, target = "api/restored.db", requestedBy = "ticket-42" });

        Assert.True(restore.GetProperty("outcome").GetString() == "Succeeded", restore.ToString());
        Assert.Equal("operator (ticket-42)", restore.GetProperty("requestedBy").GetString());
        var target = Path.Combine(RestoreRoot, "api", "restored.db");
        Assert.Equal(target, restore.GetProperty("target").GetString());
        Assert.Equal(atBackup, SqliteRows.Dump(target));

        var listed = await Api.GetFromJsonAsync<JsonElement[]>("/restores?limit=1000");
        Assert.Contains(listed!, r => r.GetProperty("id").GetString() == restore.GetProperty("id").GetString() && r.GetProperty("backupId").GetString() == id);
        var details = await Api.GetFromJsonAsync<JsonElement>($"/backups/{id}");
        Assert.True(details.GetProperty("restorable").GetBoolean());
        Assert.Equal(2, details.GetProperty("manifest").GetProperty("tables").GetArrayLength());
    }

    [Fact]
    public async Task Bad_restore_requests_are_clear_4xx_problems_and_touch_nothing()
    {
        var backup = await BackupAsync("rs-bad");
        var id = backup.GetProperty("id").GetString()!;
        var before = await File.ReadAllBytesAsync(Source);
        var restoresBefore = (await Api.GetFromJsonAsync<JsonElement[]>("/restores?limit=1000"))!.Length;

        foreach (var (body, field) in new (object, string)[]
        {
            (new { backupId = id, target = "../outside.db" }, "target"),
            (new { backupId = id, target = "/etc/outside.db" }, "target"),
            (new { backupId = id, schedule = "rs-bad" }, "backupId"),
            (new { backupId = "not-an-id" }, "backupId"),
            (new { backupId = id, requestedBy = new string('x', 81) }, "requestedBy"),
            (new { backupId = id, repository = "../offsite" }, "repository"),
            (new { backupId = id, repository = "" }, "repository"),
            // Well formed, but no such repository is configured in the worker: refused there, nothing recorded.
            (new { backupId = id, repository = "offsite" }, "repository"),
        })
        {
            var (status, problem) = await PostAsync(Api, "/restores", body);
            Assert.Equal(HttpStatusCode.BadRequest, status);
            Assert.True(problem.GetProperty("errors").TryGetProperty(field, out _), problem.ToString());
        }
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(Api, "/restores", new { backupId = new string('0', 32) })).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync(Api, "/restores", new { schedule = "rs-no-such-schedule" })).Status);
        // An existing target is never overwritten without replace.
        Assert.Equal("Succeeded", (await RestoreAsync(new { backupId = id, target = "api/restored-twice.db" })).GetProperty("outcome").GetString());
        var restoredOnce = await File.ReadAllBytesAsync(Path.Combine(RestoreRoot, "api", "restored-twice.db"));
        Assert.Equal(HttpStatusCode.Conflict, (await PostAsync(Api, "/restores", new { backupId = id, target = "api/restored-twice.db" })).Status);
        Assert.Equal(restoredOnce, await File.ReadAllBytesAsync(Path.Combine(RestoreRoot, "api", "restored-twice.db")));
        Assert.Equal(HttpStatusCode.BadRequest, (await Api.GetAsync("/restores?limit=0")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Api.GetAsync("/backups/nothex")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Api.PostAsync($"/backups/{id}/drill?repository=..%2Fx", null)).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Api.PostAsync($"/backups/{id}/drill?repository=offsite", null)).StatusCode);
        using (var huge = new StringContent($"{{\"backupId\":\"{id}\",\"requestedBy\":\"{new string('x', 20_000)}\"}}", System.Text.Encoding.UTF8, "application/json"))
            Assert.Equal(HttpStatusCode.RequestEntityTooLarge, (await Api.PostAsync("/restores", huge)).StatusCode);

        // A backup whose bytes no longer match its checksum is found so by the restore's work: recorded as failed.
        var file = backup.GetProperty("file").GetString()!;
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[bytes.Length / 2] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);
        var corrupt = await RestoreAsync(new { backupId = id, replace = true });
        Assert.Equal("Failed", corrupt.GetProperty("outcome").GetString());
        Assert.Contains("not the", corrupt.GetProperty("error").GetString()); // "has SHA-256 x, not the y recorded"

        Assert.Equal(before, await File.ReadAllBytesAsync(Source));
        Assert.False(File.Exists(Path.Combine(Stack.DataDirectory, "outside.db")));
        Assert.False(Directory.Exists(Path.Combine(RestoreRoot, "safety-copies")));
        var restoresAfter = await Api.GetFromJsonAsync<JsonElement[]>("/restores?limit=1000");
        Assert.Equal(restoresBefore + 3, restoresAfter!.Length); // the first into restored-twice.db, its refused repeat, the refused corrupt one
    }

    [Fact]
    public async Task A_drill_policy_set_through_the_api_drills_the_next_backup_and_a_damaged_backup_fails_its_drill()
    {
        var backup = await BackupAsync("rs-drill");
        Assert.Equal(HttpStatusCode.OK, (await Api.PutAsJsonAsync("/schedules/rs-drill/drill", new { every = 1 })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Api.PutAsJsonAsync("/schedules/rs-drill/drill", new { every = 0 })).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await Api.PutAsJsonAsync("/schedules/rs-no-such/drill", new { every = 1 })).StatusCode);

        var next = await Api.PostAsync("/schedules/rs-drill/run", null);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        var drills = await Api.GetFromJsonAsync<JsonElement[]>("/drills?schedule=rs-drill");
        var drill = Assert.Single(drills!);
        Assert.Equal("Succeeded", drill.GetProperty("outcome").GetString());
        Assert.Equal("every 1", drill.GetProperty("trigger").GetString());

        // The first backup, damaged, then drilled by hand.
        var id = backup.GetProperty("id").GetString()!;
        var file = backup.GetProperty("file").GetString()!;
        await using (var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite)) { stream.Position = 5000; stream.WriteByte(0x5A); stream.WriteByte(0xA5); }
        using var drillResponse = await Api.PostAsync($"/backups/{id}/drill", null);
        Assert.Equal(HttpStatusCode.Accepted, drillResponse.StatusCode);
        var accepted = await drillResponse.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Running", accepted.GetProperty("outcome").GetString());
        Assert.Equal($"/drills/{accepted.GetProperty("id").GetString()}", drillResponse.Headers.Location?.OriginalString);
        var failed = await PollAsync(drillResponse.Headers.Location!.OriginalString);
        Assert.Equal("Failed", failed.GetProperty("outcome").GetString());
        Assert.Equal(HttpStatusCode.NotFound, (await Api.GetAsync($"/drills/{new string('0', 32)}")).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await Api.GetAsync("/drills/nothex")).StatusCode);
        var details = await Api.GetFromJsonAsync<JsonElement>($"/backups/{id}");
        Assert.False(details.GetProperty("restorable").GetBoolean());
        Assert.Equal("Failed", details.GetProperty("lastDrill").GetProperty("outcome").GetString());
        Assert.Equal(HttpStatusCode.Conflict, (await PostAsync(Api, "/restores", new { backupId = id })).Status);
    }

    [Fact]
    public async Task Restore_routes_need_the_operator_key_and_the_workers_need_the_app_token()
    {
        using var anonymous = new HttpClient { BaseAddress = Api.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        (HttpMethod, string)[] routes =
        [
            (HttpMethod.Post, "/restores"), (HttpMethod.Get, "/restores"), (HttpMethod.Get, $"/restores/{new string('a', 32)}"),
            (HttpMethod.Get, "/drills"), (HttpMethod.Get, $"/drills/{new string('a', 32)}"), (HttpMethod.Get, $"/backups/{new string('a', 32)}"), (HttpMethod.Post, $"/backups/{new string('a', 32)}/drill"),
            (HttpMethod.Put, "/schedules/x/drill"), (HttpMethod.Get, "/schedules/x/drill"),
        ];
        foreach (var (method, path) in routes)
        {
            using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Get ? null : JsonContent.Create(new { backupId = new string('a', 32) }) };
            using var response = await anonymous.SendAsync(request);
            Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path}: {response.StatusCode}");
        }
        using var worker = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{Stack.WorkerPort}"), Timeout = TimeSpan.FromSeconds(30) };
        Assert.Equal(HttpStatusCode.Unauthorized, (await worker.PostAsJsonAsync("/restores", new { schedule = "x" })).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await worker.GetAsync("/restores")).StatusCode);
    }

    [Fact]
    public async Task The_openapi_document_describes_the_restore_routes()
    {
        var document = await Api.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var paths = document.GetProperty("paths");
        foreach (var path in new[] { "/restores", "/restores/{id}", "/drills", "/drills/{id}", "/backups/{id}", "/backups/{id}/drill", "/schedules/{name}/drill" })
            Assert.True(paths.TryGetProperty(path, out _), path);
        var post = paths.GetProperty("/restores").GetProperty("post");
        Assert.Equal("Restore", post.GetProperty("operationId").GetString());
        foreach (var status in new[] { "202", "400", "404", "409", "422", "429", "503" })
            Assert.True(post.GetProperty("responses").TryGetProperty(status, out _), status);
        Assert.False(post.GetProperty("responses").TryGetProperty("201", out _));
        Assert.Contains("GET /restores/{id}", post.GetProperty("description").GetString());
        Assert.True(paths.GetProperty("/backups/{id}/drill").GetProperty("post").GetProperty("responses").TryGetProperty("202", out _));
        Assert.True(document.GetProperty("components").GetProperty("schemas").TryGetProperty("RestoreRequest", out _));
    }
}
