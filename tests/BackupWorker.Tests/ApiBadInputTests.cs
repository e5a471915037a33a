using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace BackupWorker.Tests;

/// <summary>The whole stack behind BackupApi, with one schedule (the canary) that no bad request may touch.</summary>
public sealed class BadInputStackFixture : IAsyncLifetime
{
    public const string Canary = "canary";

    public AppStack Stack { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Stack = await AppStack.StartAsync();
        using var created = await Stack.ApiClient.PostAsJsonAsync("/schedules", new { name = Canary, database = "my-prod-db", location = "backups/canary", schedule = "@daily" });
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
    }

    public async Task DisposeAsync() => await Stack.DisposeAsync();
}

/// <summary>
/// Every field of every BackupApi route against a table of hostile values: each is a 4xx ProblemDetails, never a
/// 5xx; no schedule is created and the canary schedule survives every one.
/// </summary>
public class ApiBadInputTests(BadInputStackFixture fixture) : IClassFixture<BadInputStackFixture>
{
    /// <param name="RefusedByKestrel">Refused by the HTTP server before any of the app runs (a NUL in the path): a
    /// bare 400 that no middleware can turn into a ProblemDetails.</param>
    private sealed record BadRequest(HttpMethod Method, string Path, string? ContentType = null, string? Body = null, bool RefusedByKestrel = false);

    private const string Json = "application/json";

    /// <summary>A valid create request with one field replaced by raw JSON (<c>null</c> raw = the field left out).</summary>
    private static string CreateBody(string field, string? rawJson)
    {
        var fields = new Dictionary<string, string>
        {
            ["name"] = "\"bad-input\"", ["database"] = "\"my-prod-db\"", ["location"] = "\"backups/bad-input\"", ["schedule"] = "\"@daily\"",
        };
        if (field.StartsWith("retention.", StringComparison.Ordinal))
            fields["retention"] = rawJson is null ? "{}" : $"{{\"{field["retention.".Length..]}\":{rawJson}}}";
        else if (rawJson is null) fields.Remove(field);
        else fields[field] = rawJson;
        return "{" + string.Join(',', fields.Select(f => $"\"{f.Key}\":{f.Value}")) + "}";
    }

    private static string Quote(string text) => JsonSerializer.Serialize(text);

    // Hostile strings for any text field.
    private static readonly string[] HostileText =
    [
        "", " ", "\t", new string('a', 10_000), "../../etc", "/etc/passwd", "C:\\Windows", "\\\\server\\share", "a\u0000b", "a\nb",
        "\u202etxt", "\u540d\u524d", "\ud83d\udca3", "%2e%2e%2f", "$(rm -rf /)", "'; DROP TABLE schedules; --",
    ];

    // Values of the wrong JSON type, and numbers no field takes.
    private static readonly string[] WrongTypes = ["1", "-1", "true", "[]", "{}", "1e400", "99999999999999999999", "[\"a\"]"];

    private static readonly string[] HostileNumbers =
    [
        "-1", "0", "-2147483649", "2147483648", "99999999999999999999", "1.5", "1e3", "\"three\"", "true", "[]", "{}", "\"\"",
    ];

    private static readonly string[] HostileTimes =
    [
        "\"\"", "\" \"", "\"yesterday\"", "\"-1h\"", "\"99999999999999999999h\"", "\"P99999999Y\"", "\"0001-01-01T00:00:00Z\"",
        "\"9999-12-31T23:59:59Z\"", "\"2026-13-45T25:61:61Z\"", "\"1h\\u0000\"", "\"10s; DROP\"", "\"\\u0661\\u0662h\"", "5", "true", "[]",
    ];

    private static Dictionary<string, BadRequest> Cases()
    {
        var cases = new Dictionary<string, BadRequest>();
        void Add(string label, BadRequest request) => cases.Add(label, request);
        void Create(string field, string raw, string? label = null) =>
            Add($"POST /schedules {field}={label ?? Truncate(raw)}", new(HttpMethod.Post, "/schedules", Json, CreateBody(field, raw)));

        foreach (var text in HostileText) Create("name", Quote(text));
        foreach (var raw in new[] { "\".x\"", "\"-x\"", "\"bad name!\"", "\"a/b\"", Quote(new string('n', 101)) }) Create("name", raw);
        foreach (var raw in WrongTypes) Create("name", raw);

        foreach (var text in HostileText) Create("database", Quote(text));
        foreach (var raw in new[] { "\"no-such-db\"", "null", Quote(new string('d', 101)) }) Create("database", raw);
        foreach (var raw in WrongTypes) Create("database", raw);

        foreach (var text in HostileText) Create("location", Quote(text));
        foreach (var raw in new[] { "\"/tmp/loot\"", "\"backups/../../x\"", "\"backups/.hidden\"", "\"a//b\"", "\"~/x\"", Quote(string.Join('/', Enumerable.Repeat("d", 9))) }) Create("location", raw);
        foreach (var raw in WrongTypes) Create("location", raw);

        foreach (var text in HostileText.Where(t => t.Length > 0 && !string.IsNullOrWhiteSpace(t))) Create("schedule", Quote(text));
        foreach (var raw in new[] { "\"\"", "\"* * *\"", "\"@every -1s\"", "\"@every 0s\"", "\"@every 1ns\"", "\"@every 99999999999999999999h\"", "\"0 0 0 31 2 *\"", "\"TZ=Mars/Olympus 0 0 * * * *\"", "\"60 * * * * *\"", Quote(new string('*', 201)) })
            Create("schedule", raw);
        foreach (var raw in WrongTypes) Create("schedule", raw);

        foreach (var raw in HostileNumbers.Where(n => n is not ("1e3" or "1.5"))) Create("repeats", raw);
        foreach (var raw in new[] { "1.5", "1e3" }) Create("repeats", raw);
        foreach (var raw in HostileTimes) Create("dueTime", raw);
        foreach (var raw in HostileTimes.Where(t => t != "\"-1h\"").Append("\"2000-01-01T00:00:00Z\"")) Create("ttl", raw);
        foreach (var raw in HostileNumbers) Create("retention.keepLast", raw);
        foreach (var raw in HostileTimes.Concat(["\"0s\"", "\"forever\"", "\"-7.00:00:00\""])) Create("retention.maxAge", raw);
        foreach (var raw in new[] { "\"yes\"", "\"true\"", "1", "[]", "{}" }) Create("overwrite", raw);
        foreach (var raw in new[] { "\"x\"", "1", "[]", "true" }) Create("retention", raw);
        // Repositories: the API refuses a bad list, the worker a name it has not configured (this stack has none but local).
        foreach (var raw in new[] { "\"local\"", "[]", "[\"offsite\"]", "[\"local\",\"offsite\"]", "[\"local\",\"local\"]", "[\"local\",\"LOCAL\"]",
            "[\"local\",\"../x\"]", "[\"local\",\"\"]", "[\"local\",null]", "[1]", "{}", "[" + string.Join(',', Enumerable.Range(0, 9).Select(i => $"\"r{i}\"")) + "]" })
            Create("repositories", raw);

        // A past due time whose catch-up would replay a burst of backups.
        Add("POST /schedules burst of missed backups", new(HttpMethod.Post, "/schedules", Json,
            $"{{\"name\":\"bad-input\",\"database\":\"my-prod-db\",\"schedule\":\"@every 1m\",\"dueTime\":\"{DateTimeOffset.UtcNow.AddDays(-1):yyyy-MM-ddTHH:mm:ssZ}\"}}"));

        // The body as a whole.
        foreach (var (label, body, type) in new (string, string, string)[]
        {
            ("empty", "", Json), ("null", "null", Json), ("array", "[]", Json), ("string", "\"x\"", Json), ("number", "1", Json),
            ("truncated", "{\"name\":", Json), ("not json", "{not json", Json), ("trailing garbage", CreateBody("name", "\"bad-input\"") + "x", Json),
            ("nested 1000 deep", new string('[', 1000) + new string(']', 1000), Json),
            ("80 KB", "{\"name\":\"" + new string('a', 80_000) + "\"}", Json),
            ("80 KB of whitespace", new string(' ', 80_000) + "{}", Json),
            ("invalid utf-8", "{\"name\":\"\xff\xfe\"}", Json),
            ("form", "name=bad-input&database=my-prod-db&schedule=%40daily", "application/x-www-form-urlencoded"),
            ("text/plain", CreateBody("name", "\"bad-input\""), "text/plain"),
            ("xml", "<schedule/>", "application/xml"),
        })
            Add($"POST /schedules body {label}", new(HttpMethod.Post, "/schedules", type, body));

        // Route names of the routes that take one.
        string[] hostileNames =
        [
            "%00", "a%0Ab", "%7F", "...", "a%5Cb", new string('n', 600), "..%2F..%2Fetc", "%E2%80%AE", "%E5%90%8D", "canary%20", "CANARY", "canary%00",
            "%F0%9F%92%A3", "%25", "no-such-schedule", "%20canary", "canary%09", "canary%23", "canary%3Fx", "canary%2F", "canary%2520", "%2E%2E%2Fcanary",
        ];
        foreach (var name in hostileNames)
        {
            var kestrel = name.Contains("%00", StringComparison.Ordinal);
            Add($"GET /schedules/{Truncate(name)}", new(HttpMethod.Get, "/schedules/" + name, RefusedByKestrel: kestrel));
            Add($"DELETE /schedules/{Truncate(name)}", new(HttpMethod.Delete, "/schedules/" + name, RefusedByKestrel: kestrel));
            Add($"POST /schedules/{Truncate(name)}/run", new(HttpMethod.Post, $"/schedules/{name}/run", RefusedByKestrel: kestrel));
        }

        // Query values.
        foreach (var limit in new[] { "-1", "0", "10001", "abc", "99999999999", "1e3", "1.5", "%00", "" + new string('9', 400) })
            Add($"GET /runs?limit={Truncate(limit)}", new(HttpMethod.Get, "/runs?limit=" + limit));
        foreach (var route in new[] { "/runs", "/backups" })
            foreach (var (key, value) in new[] { ("schedule", "%00"), ("schedule", new string('s', 600)), ("schedule", "a%2Fb"), ("database", "..%2F..%2Fx"), ("database", "%00"), ("database", "%E5%90%8D"), ("database", new string('d', 101)) })
                Add($"GET {route}?{key}={Truncate(value)}", new(HttpMethod.Get, $"{route}?{key}={value}"));

        // Methods no route has.
        foreach (var (method, path) in new[] { ("PUT", "/schedules"), ("PATCH", "/schedules/canary"), ("DELETE", "/schedules"), ("PUT", "/schedules/canary/run"), ("POST", "/runs"), ("DELETE", "/backups") })
            Add($"{method} {path}", new(new HttpMethod(method), path, Json, "{}"));
        return cases;
    }

    private static string Truncate(string text) => text.Length <= 24 ? text : text[..12] + $"…({text.Length})";

    private static readonly Dictionary<string, BadRequest> All = Cases();

    public static TheoryData<string> Labels() => [.. All.Keys];

    [Theory]
    [MemberData(nameof(Labels))]
    public async Task A_hostile_value_is_a_clear_4xx_problem_and_loses_nothing(string label)
    {
        var bad = All[label];
        var api = fixture.Stack.ApiClient;
        using var request = new HttpRequestMessage(bad.Method, bad.Path);
        if (bad.Body is not null)
        {
            // The invalid UTF-8 case sends its characters as single bytes (0xFF 0xFE), which no UTF-8 text has.
            var bytes = label.EndsWith("invalid utf-8", StringComparison.Ordinal) ? Encoding.Latin1.GetBytes(bad.Body) : Encoding.UTF8.GetBytes(bad.Body);
            request.Content = new ByteArrayContent(bytes) { Headers = { ContentType = new(bad.ContentType!) } };
        }

        using var response = await api.SendAsync(request);

        var status = (int)response.StatusCode;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status is >= 400 and < 500, $"{label}: {status} {body}");
        if (bad.RefusedByKestrel)
            Assert.Equal((400, ""), (status, body));
        else
            AssertProblem(label, status, body, response);

        // Nothing lost, nothing made: the canary is the only schedule, and it is still active.
        var list = await api.GetStringAsync("/schedules");
        var schedules = JsonSerializer.Deserialize<JsonElement[]>(list)!;
        Assert.True(schedules.Length == 1, $"after {label}: {list}");
        var only = schedules[0];
        Assert.Equal(BadInputStackFixture.Canary, only.GetProperty("name").GetString());
        Assert.True(only.GetProperty("active").GetBoolean(), $"after {label}: {list}");
    }

    private static void AssertProblem(string label, int status, string body, HttpResponseMessage response)
    {
        Assert.True("application/problem+json" == response.Content.Headers.ContentType?.MediaType, $"{label}: {response.Content.Headers.ContentType} {body}");
        var problem = JsonDocument.Parse(body).RootElement;
        Assert.Equal(status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrEmpty(problem.GetProperty("title").GetString()));
        Assert.DoesNotContain("Exception", body);
        Assert.DoesNotMatch(@"\bat [A-Z][\w.`]+\(|\.cs:line", body); // no stack frame
    }

    [Fact]
    public void The_table_covers_every_route_and_field()
    {
        var labels = All.Keys.ToList();
        foreach (var field in new[] { "name", "database", "location", "schedule", "repeats", "dueTime", "ttl", "retention.keepLast", "retention.maxAge", "overwrite", "retention" })
            Assert.Contains(labels, l => l.StartsWith($"POST /schedules {field}=", StringComparison.Ordinal));
        foreach (var route in new[] { "GET /schedules/", "DELETE /schedules/", "POST /schedules/", "GET /runs?limit=", "GET /runs?schedule=", "GET /backups?database=", "POST /schedules body" })
            Assert.Contains(labels, l => l.StartsWith(route, StringComparison.Ordinal));
        Assert.True(labels.Count >= 250, $"{labels.Count} inputs");
    }
}
