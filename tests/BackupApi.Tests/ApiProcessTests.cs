using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using TestSupport;

namespace BackupApi.Tests;

/// <summary>
/// BackupApi as a process in front of a scripted stand-in for its sidecar's invocation route: what it forwards, and
/// how it hands worker and Dapr errors back to the operator.
/// </summary>
public class ApiProcessTests : IAsyncLifetime
{
    private sealed record Seen(string Method, string Path, string? Token, string Body);

    private readonly ConcurrentQueue<Seen> _seen = new();
    private Func<HttpContext, Task> _answer = _ => Task.CompletedTask;
    // Null until InitializeAsync got that far: a failed start-up still disposes what it did start.
    private LoopbackApp? _sidecar;
    private BackupApiProcess? _api;
    private HttpClient _http = null!;
    private const string OperatorKey = BackupApiProcess.OperatorKey;

    public async Task InitializeAsync()
    {
        _sidecar = await LoopbackApp.StartAsync(app => app.Map("/{**path}", async (HttpContext context) =>
        {
            using var reader = new StreamReader(context.Request.Body);
            _seen.Enqueue(new Seen(context.Request.Method, context.Request.Path + context.Request.QueryString, context.Request.Headers["dapr-api-token"].FirstOrDefault(), await reader.ReadToEndAsync()));
            await _answer(context);
        }));
        var sidecarPort = _sidecar.Port;

        // As the AppHost runs it (its launch profile): errors must still not show internals.
        _api = await BackupApiProcess.StartAsync(sidecarPort, new Dictionary<string, string?> { ["ASPNETCORE_ENVIRONMENT"] = "Development" });
        _http = _api.Http;
    }

    public async Task DisposeAsync()
    {
        if (_api is not null) await _api.DisposeAsync();
        if (_sidecar is not null) await _sidecar.DisposeAsync();
    }

    [Fact]
    public async Task Its_sidecar_down_is_a_503_problem_for_every_route()
    {
        await _sidecar!.StopAsync();

        foreach (var request in new Func<HttpRequestMessage>[]
        {
            () => new HttpRequestMessage(HttpMethod.Get, "/schedules"),
            () => new HttpRequestMessage(HttpMethod.Post, "/schedules/nightly/run"),
            () => new HttpRequestMessage(HttpMethod.Delete, "/schedules/nightly"),
            () => new HttpRequestMessage(HttpMethod.Get, "/runs"),
        })
        {
            using var message = request();
            using var response = await _http.SendAsync(message);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Sidecar unavailable", problem.GetProperty("title").GetString());
        }
    }

    [Fact]
    public async Task An_unexpected_failure_is_a_500_problem_without_internals_even_in_development()
    {
        _answer = context =>
        {
            context.Response.ContentType = "application/json";
            return context.Response.WriteAsync("{not json");
        };
        using var response = await _http.GetAsync("/schedules");
        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        Assert.DoesNotContain("JsonException", body);
        Assert.DoesNotContain(" at ", body);
    }

    [Fact]
    public async Task Without_the_operator_key_every_api_route_is_401_health_stays_open_and_other_hosts_are_refused()
    {
        using var anonymous = new HttpClient { BaseAddress = _http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        (HttpMethod, string)[] routes =
        [
            (HttpMethod.Get, "/schedules"), (HttpMethod.Post, "/schedules"), (HttpMethod.Get, "/schedules/x"),
            (HttpMethod.Delete, "/schedules/x"), (HttpMethod.Post, "/schedules/x/run"), (HttpMethod.Get, "/backups"), (HttpMethod.Get, "/runs"),
        ];
        foreach (var key in new[] { null, "", "wrong-key-0123456789", OperatorKey + "x" })
            foreach (var (method, path) in routes)
            {
                using var request = new HttpRequestMessage(method, path) { Content = method == HttpMethod.Post ? new StringContent("{}", System.Text.Encoding.UTF8, "application/json") : null };
                if (key is not null) request.Headers.Add("X-Api-Key", key);
                using var response = await anonymous.SendAsync(request);
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized, $"{method} {path} with key '{key}': {response.StatusCode}");
                Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
                Assert.Equal("ApiKey", response.Headers.WwwAuthenticate.ToString());
            }
        Assert.Empty(_seen); // nothing reached the worker

        Assert.Equal(HttpStatusCode.OK, (await anonymous.GetAsync("/health")).StatusCode);
        using var otherHost = new HttpRequestMessage(HttpMethod.Get, "/health");
        otherHost.Headers.Host = "backups.evil.example";
        Assert.Equal(HttpStatusCode.BadRequest, (await anonymous.SendAsync(otherHost)).StatusCode);
    }

    [Fact]
    public async Task Create_goes_through_dapr_invocation_of_backupworker_with_the_api_token()
    {
        _answer = context =>
        {
            context.Response.StatusCode = 201;
            return context.Response.WriteAsJsonAsync(new
            {
                name = "nightly", database = "my-prod-db", location = "backups/x", schedule = "0 0 2 * * *", retention = new { keepLast = 7 },
                active = true, job = new { schedule = "0 0 2 * * *" },
            });
        };

        var response = await _http.PostAsJsonAsync("/schedules", new { name = "nightly", database = "my-prod-db", location = "backups/x", schedule = "0 0 2 * * *", retention = new { keepLast = 7 } });

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("/schedules/nightly", response.Headers.Location?.OriginalString);
        var call = Assert.Single(_seen);
        Assert.Equal("POST", call.Method);
        Assert.Equal("/v1.0/invoke/backupworker/method/schedules", call.Path);
        Assert.Equal("api-token", call.Token);
        var body = JsonDocument.Parse(call.Body).RootElement;
        Assert.Equal("my-prod-db", body.GetProperty("database").GetString());
        Assert.Equal(7, body.GetProperty("retention").GetProperty("keepLast").GetInt32());
    }

    [Fact]
    public async Task Validation_errors_are_answered_without_calling_the_worker()
    {
        var response = await _http.PostAsJsonAsync("/schedules", new { database = "", schedule = "", repeats = -1, ttl = "tomorrow-ish", retention = new { keepLast = 0, maxAge = "forever" } });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
        foreach (var field in new[] { "database", "schedule", "repeats", "ttl", "retention.keepLast", "retention.maxAge" })
            Assert.True(errors.TryGetProperty(field, out _), field);
        Assert.Empty(_seen);
    }

    [Fact]
    public async Task Locations_leaving_the_backup_root_are_400s_on_location_without_calling_the_worker()
    {
        string[] hostile =
        [
            "/tmp/loot", "/", "../../x", "..", "backups/../../x", "backups/./x", "./x", "a//b", "backups/", "C:\\loot", "C:loot", "c:/x",
            "\\\\server\\share", "back\u0000ups", "backups/\n", " backups/x", "", "   ", "~/x", "$HOME/x", "backups/.hidden",
            "b\u00e4ckups", "backups\u202e", new string('a', 201), "backups/" + new string('b', 101), string.Join('/', Enumerable.Repeat("d", 9)),
        ];
        foreach (var location in hostile)
        {
            var response = await _http.PostAsJsonAsync("/schedules", new { name = "n", database = "my-prod-db", schedule = "@daily", location });

            Assert.True(HttpStatusCode.BadRequest == response.StatusCode, $"{location}: {response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
            var errors = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors");
            Assert.True(errors.TryGetProperty("location", out _), location);
        }
        Assert.Empty(_seen);
    }

    [Fact]
    public async Task Worker_problems_are_passed_on_faithfully()
    {
        const string detail = "failed to schedule job due to: rpc error: code = AlreadyExists desc = job already exists: 'app||default||backupworker||nightly'";
        _answer = context => Results.Problem(detail, statusCode: 409, title: "Schedule already exists").ExecuteAsync(context);

        var response = await _http.PostAsJsonAsync("/schedules", new { name = "nightly", database = "my-prod-db", schedule = "@daily" });

        Assert.Equal(HttpStatusCode.Conflict, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(detail, problem.GetProperty("detail").GetString());
        Assert.Equal("Schedule already exists", problem.GetProperty("title").GetString());
    }

    [Fact]
    public async Task Dapr_invocation_failure_is_a_502_with_daprs_message()
    {
        _answer = context =>
        {
            context.Response.StatusCode = 500;
            return context.Response.WriteAsJsonAsync(new { errorCode = "ERR_DIRECT_INVOKE", message = "failed to invoke, id: backupworker, err: couldn't find service: backupworker" });
        };

        var response = await _http.GetAsync("/schedules");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        var problem = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("500: ERR_DIRECT_INVOKE: failed to invoke, id: backupworker, err: couldn't find service: backupworker", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task Queries_and_deletes_are_forwarded_as_given()
    {
        _answer = context =>
        {
            if (context.Request.Method == "DELETE") { context.Response.StatusCode = 204; return Task.CompletedTask; }
            return context.Response.WriteAsJsonAsync(Array.Empty<object>());
        };

        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync("/backups?schedule=nightly&database=my-prod-db")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await _http.DeleteAsync("/schedules/nightly")).StatusCode);

        Assert.Equal(
            ["GET /v1.0/invoke/backupworker/method/backups?schedule=nightly&database=my-prod-db", "DELETE /v1.0/invoke/backupworker/method/schedules/nightly"],
            _seen.Select(s => $"{s.Method} {s.Path}"));
    }

    [Fact]
    public async Task A_schedule_that_would_replay_a_burst_of_missed_backups_is_refused_with_its_bound()
    {
        var hourAgo = DateTimeOffset.UtcNow.AddHours(-1).ToString("yyyy-MM-ddTHH:mm:ssZ");

        var response = await _http.PostAsJsonAsync("/schedules", new { name = "n", database = "my-prod-db", schedule = "@every 1m", dueTime = hourAgo });

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var error = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("dueTime")[0].GetString();
        Assert.Contains("more than 5 missed backups", error);
        Assert.Contains("BackupApi:MaxMissedBackups", error);
        Assert.Empty(_seen);

        // Within the bound (3 repeats) the same past due time is the operator's to choose.
        _answer = context => { context.Response.StatusCode = 201; return context.Response.WriteAsJsonAsync(new { name = "n", database = "my-prod-db", location = "backups/n", active = true, retention = new { } }); };
        var bounded = await _http.PostAsJsonAsync("/schedules", new { name = "n", database = "my-prod-db", schedule = "@every 1m", dueTime = hourAgo, repeats = 3 });
        Assert.Equal(HttpStatusCode.Created, bounded.StatusCode);
        Assert.Single(_seen);
    }

    [Fact]
    public async Task The_catch_up_bound_counts_every_schedule_the_scheduler_accepts_and_refuses_what_it_cannot_count()
    {
        var past = DateTimeOffset.UtcNow.AddSeconds(-120).ToString("yyyy-MM-ddTHH:mm:ssZ");

        // Day 1-31 or any weekday: a tick every second, so 121 missed backups at once.
        var burst = await _http.PostAsJsonAsync("/schedules", new { name = "n", database = "my-prod-db", schedule = "* * * 1-31 * 0-6", dueTime = past });
        Assert.Equal(HttpStatusCode.BadRequest, burst.StatusCode);
        Assert.Contains("more than 5 missed backups", (await burst.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("dueTime")[0].GetString());

        // A schedule the scheduler refuses (no zone on @every) cannot be counted: with a past due time it is refused here.
        var uncounted = await _http.PostAsJsonAsync("/schedules", new { name = "n", database = "my-prod-db", schedule = "TZ=Europe/Berlin @every 1m", dueTime = past });
        Assert.Equal(HttpStatusCode.BadRequest, uncounted.StatusCode);
        Assert.Contains("cannot be counted", (await uncounted.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("errors").GetProperty("dueTime")[0].GetString());
        Assert.Empty(_seen);
    }

    [Fact]
    public async Task Out_of_range_durations_and_numbers_are_400_problems_not_500s()
    {
        object[] bodies =
        [
            new { database = "my-prod-db", schedule = "@daily", dueTime = "99999999999999999999h" },
            new { database = "my-prod-db", schedule = "@daily", ttl = "P99999999Y" },
            new { database = "my-prod-db", schedule = "@daily", retention = new { maxAge = "9999999999999h" } },
            new { database = "my-prod-db", schedule = "@daily", dueTime = "9999-12-31T23:59:59Z" },
            new { database = "my-prod-db", schedule = "@every 1ns" },
        ];
        foreach (var body in bodies)
        {
            using var response = await _http.PostAsJsonAsync("/schedules", body);
            Assert.True(HttpStatusCode.BadRequest == response.StatusCode, $"{JsonSerializer.Serialize(body)}: {(int)response.StatusCode}");
            Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        }
        using var overflow = await _http.PostAsync("/schedules", new StringContent("""{"database":"my-prod-db","schedule":"@daily","repeats":99999999999}""", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.BadRequest, overflow.StatusCode);
        Assert.Contains("$.repeats", (await overflow.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("detail").GetString());
        // Expect: 100-continue, as a client that sends large bodies should: the server answers 413 from the length alone
        // and the body is never sent (sent anyway, the server's close while it is still being written is a broken pipe).
        using var hugeRequest = new HttpRequestMessage(HttpMethod.Post, "/schedules")
        {
            Content = new StringContent(new string(' ', 1 << 20) + "{}", System.Text.Encoding.UTF8, "application/json"),
        };
        hugeRequest.Headers.ExpectContinue = true;
        using var huge = await _http.SendAsync(hugeRequest);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
        Assert.Equal("application/problem+json", huge.Content.Headers.ContentType?.MediaType);
        Assert.Empty(_seen);
    }

    [Fact]
    public async Task A_browser_cannot_send_a_state_changing_request_cross_site()
    {
        using var browser = new HttpClient { BaseAddress = _http.BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        // What a page on another site can send without a preflight: a form or text/plain body, no custom header.
        Func<HttpContent>[] simple =
        [
            () => new FormUrlEncodedContent(new Dictionary<string, string> { ["name"] = "n", ["database"] = "my-prod-db", ["schedule"] = "@daily" }),
            () => new StringContent("""{"name":"n","database":"my-prod-db","schedule":"@daily"}""", System.Text.Encoding.UTF8, "text/plain"),
            () => new MultipartFormDataContent { { new StringContent("n"), "name" } },
        ];
        foreach (var path in new[] { "/schedules", "/schedules/x/run" })
            foreach (var make in simple)
            {
                using var content = make();
                using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = content };
                request.Headers.Add("Origin", "https://evil.example");
                using var response = await browser.SendAsync(request);
                // Refused before anything runs: no key (401), or a body type no route reads (415, decided by routing).
                Assert.True(response.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.UnsupportedMediaType, $"{path} {content.Headers.ContentType}: {response.StatusCode}");
                Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
            }
        // A script that wants to add the key must pass a CORS preflight first: no origin is ever allowed.
        foreach (var method in new[] { "POST", "DELETE" })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, "/schedules/x");
            preflight.Headers.Add("Origin", "https://evil.example");
            preflight.Headers.Add("Access-Control-Request-Method", method);
            preflight.Headers.Add("Access-Control-Request-Headers", "x-api-key, content-type");
            using var response = await browser.SendAsync(preflight);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"), method);
            Assert.False(response.Headers.Contains("Access-Control-Allow-Headers"), method);
        }
        // And nothing accepts a form post, even with the key: there is no form-reading endpoint to forge.
        using var form = await _http.PostAsync("/schedules", new FormUrlEncodedContent(new Dictionary<string, string> { ["database"] = "my-prod-db" }));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, form.StatusCode);
        Assert.Equal("application/problem+json", form.Content.Headers.ContentType?.MediaType);
        Assert.Empty(_seen);
    }
}
