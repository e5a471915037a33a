using System.Net;
using System.Text;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// Hostile values for every field of the sidecar's HTTP jobs API (name segment, body fields, body size), one row each.
/// Each must be answered with a clear 4xx, or with the exact answer daprd gives (its scheduler-validation failures are
/// 500 DAPR_SCHEDULER_SCHEDULE_JOB / _GET_JOB / _DELETE_JOB with the scheduler's text); never an unshaped 500, never
/// a crash, and the canary job stays as it was. Rows marked 204 are values daprd takes; what they add is removed.
/// </summary>
public sealed class HttpBadInputTests(BadInputStack stack) : IClassFixture<BadInputStack>
{
    /// <param name="ErrorCode">daprd's errorCode, or null for a non-JSON answer (Kestrel's or routing's own 4xx).</param>
    private sealed record Row(HttpMethod Method, string RawName, string? Body, int Status, string? ErrorCode, string Text = "");

    private const string Daily = """{"schedule":"@daily"}""";
    private const string Validation = "rpc error: code = Unknown desc = ";

    private static readonly string[] HostileSegments =
    [
        "..%2Fx", "..%2F..%2Fetc%2Fpasswd", "%2Fetc%2Fpasswd", "a%2Fb", "a%5Cb", "C:%5CWindows", "a%00b", "a%0Ab", "%0D", "%7F",
        "%C2%85", "%E2%80%AEgpj.exe", "zero%E2%80%8Bwidth", "%EF%BB%BFbom", "a%23frag", "a%3Fq", "%1B%5B31m", new string('n', 513),
        "%2E%2E%2Fx", "a%2F..%2F..%2Fb", "line%E2%80%A8sep", "para%E2%80%A9sep", "%F3%A0%81%81tag", "x%09y", "%5C%5Cserver%5Cshare",
    ];

    private static readonly Dictionary<string, Row> Rows = Build();

    private static Dictionary<string, Row> Build()
    {
        var rows = new Dictionary<string, Row>();
        void Add(string label, Row row) => rows.Add(label, row);

        foreach (var segment in HostileSegments)
        {
            var shown = BadInputStack.Show(segment);
            if (segment.Contains("%00", StringComparison.Ordinal))
            {
                // Kestrel refuses a NUL in the decoded path before routing (a plain 400).
                foreach (var method in new[] { HttpMethod.Post, HttpMethod.Get, HttpMethod.Delete })
                    Add($"{method} name {shown}", new(method, segment, method == HttpMethod.Post ? Daily : null, 400, null));
                continue;
            }
            if (segment is "%0D" or "%C2%85")
                // POST trims white space (Go's unicode.IsSpace) first, as daprd does: nothing is left.
                Add($"POST name {shown}", new(HttpMethod.Post, segment, Daily, 400, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty"));
            else
                Add($"POST name {shown}", new(HttpMethod.Post, segment, Daily, 500, "DAPR_SCHEDULER_SCHEDULE_JOB", Validation + "job name is invalid"));
            Add($"GET name {shown}", new(HttpMethod.Get, segment, null, 500, "DAPR_SCHEDULER_GET_JOB", Validation + "job name is invalid"));
            Add($"DELETE name {shown}", new(HttpMethod.Delete, segment, null, 500, "DAPR_SCHEDULER_DELETE_JOB", Validation + "job name is invalid"));
        }
        // GET and DELETE do not trim (daprd's quirk): " " is then a name like any other, and missing.
        Add("POST blank name", new(HttpMethod.Post, "%20", Daily, 400, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty"));
        Add("GET blank name", new(HttpMethod.Get, "%20", null, 500, "DAPR_SCHEDULER_GET_JOB", "code = NotFound desc = job not found:  "));
        Add("DELETE blank name", new(HttpMethod.Delete, "%20", null, 204, null));
        foreach (var method in new[] { HttpMethod.Post, HttpMethod.Get, HttpMethod.Delete })
        {
            Add($"{method} malformed escape", new(method, "%ZZ", method == HttpMethod.Post ? Daily : null, 400, null, "invalid URL escape"));
            Add($"{method} truncated escape", new(method, "a%2", method == HttpMethod.Post ? Daily : null, 400, null, "invalid URL escape"));
            // Kestrel folds dot segments, escaped or not, before routing: no jobs route matches.
            Add($"{method} dot segment", new(method, "..", method == HttpMethod.Post ? Daily : null, 404, null));
            Add($"{method} escaped dot segment", new(method, "%2e%2e", method == HttpMethod.Post ? Daily : null, 404, null));
            Add($"{method} 100k name", new(method, new string('n', 100_000), method == HttpMethod.Post ? Daily : null, 414, null));
        }

        var malformed = (string body) => new Row(HttpMethod.Post, "bad", body, 400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: ");
        foreach (var (label, body) in new[]
        {
            ("array body", "[{}]"), ("truncated JSON", "{"), ("string body", "\"x\""), ("number body", "1"),
            ("repeats negative", """{"schedule":"@daily","repeats":-1}"""),
            ("repeats overflowing uint32", """{"schedule":"@daily","repeats":4294967296}"""),
            ("repeats 1e30", """{"schedule":"@daily","repeats":1e30}"""),
            ("repeats fraction", """{"schedule":"@daily","repeats":1.5}"""),
            ("repeats text", """{"schedule":"@daily","repeats":"many"}"""),
            ("schedule number", """{"schedule":123}"""),
            ("schedule object", """{"schedule":{}}"""),
            ("dueTime array", """{"dueTime":[]}"""),
            ("overwrite text", """{"schedule":"@daily","overwrite":"yes"}"""),
            ("interval Go style", """{"schedule":"@daily","failurePolicy":{"constant":{"interval":"1m"}}}"""),
            ("interval beyond 10000 years", """{"schedule":"@daily","failurePolicy":{"constant":{"interval":"315576000001s"}}}"""),
            ("interval too precise", """{"schedule":"@daily","failurePolicy":{"constant":{"interval":"1.0000000001s"}}}"""),
            ("maxRetries negative", """{"schedule":"@daily","failurePolicy":{"constant":{"maxRetries":-1}}}"""),
            ("maxRetries overflowing", """{"schedule":"@daily","failurePolicy":{"constant":{"maxRetries":4294967296}}}"""),
            ("data nested 10000 deep", "{\"schedule\":\"@daily\",\"data\":" + new string('[', 10_000) + new string(']', 10_000) + "}"),
            ("NUL in JSON", "{\"schedule\":\"@daily\"\0}"),
        })
            Add($"body {label}", malformed(body));
        Add("body over --max-body-size", new(HttpMethod.Post, "big", "{\"schedule\":\"@daily\",\"data\":\"" + new string('x', 2 << 20) + "\"}", 400,
            "ERR_BODY_READ", "failed to read request body: stream too large"));
        Add("data over the scheduler's job data limit", new(HttpMethod.Post, "big", "{\"schedule\":\"@daily\",\"data\":\"" + new string('x', 100_000) + "\"}", 429,
            "DAPR_SCHEDULER_SCHEDULE_JOB", "code = ResourceExhausted desc = job data is"));
        Add("name in body", new(HttpMethod.Post, "bad", """{"name":"../x","schedule":"@daily"}""", 400, "DAPR_SCHEDULER_JOB_NAME", "Set the job name in the url only"));
        Add("empty body", new(HttpMethod.Post, "bad", "", 400, "DAPR_SCHEDULER_SCHEDULE_EMPTY", "Schedule is empty"));

        var invalid = (string body, string text) => new Row(HttpMethod.Post, "bad", body, 500, "DAPR_SCHEDULER_SCHEDULE_JOB",
            text.Length > 0 ? text : Validation + "job failed validation: ");
        foreach (var (label, body, text) in new[]
        {
            ("schedule empty", """{"schedule":""}""", "empty spec string"),
            ("schedule 5 fields", """{"schedule":"* * * * *"}""", "expected exactly 6 fields"),
            ("schedule out of range", """{"schedule":"60 * * * * *"}""", "above maximum"),
            ("schedule step 0", """{"schedule":"*/0 * * * * *"}""", ""),
            ("schedule overflowing @every", """{"schedule":"@every 9999999999999999999h"}""", ""),
            ("schedule negative @every", """{"schedule":"@every -1s"}""", ""),
            ("schedule unknown zone", """{"schedule":"TZ=Not/AZone 0 0 * * * *"}""", "Not/AZone"),
            ("schedule zone traversal", """{"schedule":"TZ=../../../../etc/passwd 0 0 * * * *"}""", ""),
            ("schedule absolute zone", """{"schedule":"TZ=/etc/localtime 0 0 * * * *"}""", ""),
            ("schedule control", "{\"schedule\":\"\\u0000\"}", ""),
            ("schedule huge", "{\"schedule\":\"" + new string('*', 200_000) + "\"}", ""),
            ("dueTime text", """{"dueTime":"abc"}""", "due time format not recognized"),
            ("dueTime overflowing", """{"dueTime":"9999999999999999999s"}""", ""),
            ("dueTime after year 9999", """{"dueTime":"10000-01-01T00:00:00Z"}""", ""),
            ("dueTime impossible date", """{"dueTime":"2026-13-45T99:99:99Z"}""", ""),
            ("dueTime repeating", """{"dueTime":"R2/PT1S"}""", "repeats not supported for due time"),
            ("dueTime 1000000 years", """{"dueTime":"P1000000Y"}""", ""),
            ("ttl text", """{"schedule":"@daily","ttl":"abc"}""", "ttl format not recognized"),
            ("ttl overflowing", """{"schedule":"@daily","ttl":"9999999999999999999s"}""", ""),
            ("ttl before due time", """{"schedule":"@daily","dueTime":"10s","ttl":"0001-01-01T00:00:00Z"}""", "ttl must be greater than due time"),
            ("repeats 0", """{"schedule":"@daily","repeats":0}""", "defined repeats must be greater than 0"),
            ("repeats without schedule", """{"dueTime":"1h","repeats":4294967295}""", "job must have a schedule to repeat"),
            ("overwrite canary with bad schedule", """{"schedule":"* * * * *","overwrite":true}""", "expected exactly 6 fields"),
        })
            Add($"body {label}", invalid(body, text) with { RawName = label.Contains("canary", StringComparison.Ordinal) ? "canary" : "bad" });

        var badPolicy = (string interval) => new Row(HttpMethod.Post, "bad", "{\"schedule\":\"@daily\",\"failurePolicy\":{\"constant\":{\"interval\":\"" + interval + "\"}}}",
            400, "DAPR_SCHEDULER_SCHEDULE_JOB", "code = InvalidArgument desc = job failed validation: invalid failure policy interval: ");
        Add("body interval negative", badPolicy("-5s"));
        Add("body interval negative fraction", badPolicy("-0.5s"));
        Add("canary again without overwrite", new(HttpMethod.Post, "canary", Daily, 409, "DAPR_SCHEDULER_SCHEDULE_JOB", "code = AlreadyExists"));
        Add("GET missing job", new(HttpMethod.Get, "missing", null, 500, "DAPR_SCHEDULER_GET_JOB", "code = NotFound desc = job not found: missing"));

        // Values daprd takes.
        foreach (var (label, body) in new[]
        {
            ("far-past due time", """{"schedule":"@yearly","dueTime":"0001-01-01T00:00:00Z"}"""),
            ("far-future due time", """{"dueTime":"9999-12-31T23:59:59Z"}"""),
            ("negative due time", """{"dueTime":"-1s"}"""),
            ("repeats max", """{"schedule":"@daily","repeats":4294967295}"""),
            ("repeats as string", """{"schedule":"@daily","repeats":"3"}"""),
            ("unknown fields", """{"schedule":"@daily","evil":{"$where":"1"}}"""),
            ("data with control characters", "{\"schedule\":\"@daily\",\"data\":\"\\u0000\\u001b[31m\\u202e\"}"),
        })
            Add($"accepted {label}", new(HttpMethod.Post, "fine", body, 204, null));
        Add("accepted unicode name", new(HttpMethod.Post, "%E5%90%8D%E5%89%8D-%C3%BC", Daily, 204, null));
        return rows;
    }

    public static TheoryData<string> Inputs => [.. Rows.Keys];

    [Fact]
    public void The_table_tries_over_one_hundred_and_fifty_inputs() => Assert.InRange(Rows.Count, 150, int.MaxValue);

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Hostile_input_gets_a_clear_answer_and_loses_nothing(string input)
    {
        var row = Rows[input];
        var before = await stack.JobNamesAsync();
        // Sent as written: Uri would otherwise re-escape a malformed escape ("%ZZ" → "%25ZZ") and fold dot segments.
        var uri = new Uri(stack.Sidecar.HttpEndpoint + "/v1.0/jobs/" + row.RawName, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true });
        using var request = new HttpRequestMessage(row.Method, uri);
        if (row.Body is not null) request.Content = new StringContent(row.Body, Encoding.UTF8, "application/json");
        using var response = await stack.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        var status = (int)response.StatusCode;
        var shown = text.Length > 300 ? text[..300] + "…" : text;

        Assert.True(row.Status == status, $"{input}: expected {row.Status}, got {status}: {shown}");
        if (status >= 500)
        {
            // A 500 only in daprd's shape for a scheduler rejection, never an unshaped internal error.
            Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
            Assert.StartsWith("DAPR_SCHEDULER_", System.Text.Json.JsonDocument.Parse(text).RootElement.GetProperty("errorCode").GetString());
        }
        if (row.ErrorCode is not null)
        {
            using var json = System.Text.Json.JsonDocument.Parse(text);
            Assert.Equal(row.ErrorCode, json.RootElement.GetProperty("errorCode").GetString());
            Assert.Contains(row.Text, json.RootElement.GetProperty("message").GetString());
        }
        else Assert.Contains(row.Text, text);

        await stack.AssertNothingLostAsync(before, mayAdd: status is >= 200 and < 300);
    }
}
