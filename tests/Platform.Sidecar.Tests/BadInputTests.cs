using System.Net;
using System.Text;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>A scheduler and one sidecar of their own for the bad-input tables, holding a canary job no input may disturb.</summary>
public sealed class BadInputStack : IAsyncLifetime
{
    public const string AppId = "bad-input";
    public static readonly Any CanaryData = Any.Pack(new StringValue { Value = "precious" });

    public SchedulerProcess Scheduler { get; private set; } = null!;
    public SidecarProcess Sidecar { get; private set; } = null!;
    public HttpClient Http { get; private set; } = null!;
    public Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient Grpc { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Scheduler = await SchedulerProcess.StartAsync(extraArgs: ["--max-job-data-size", "65536"]);
        Sidecar = await SidecarProcess.StartAsync(new SidecarSettings(AppId)
        {
            SchedulerHostAddress = Scheduler.HostAddress,
            ExtraArgs = ["--max-body-size", "1Mi"],
        });
        await Sidecar.WaitForSchedulerStreamAsync();
        Http = Sidecar.HttpClient();
        Grpc = Sidecar.GrpcClient();
        await Grpc.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "canary", Schedule = "@daily", Repeats = 7, Data = CanaryData } });
    }

    public async Task DisposeAsync()
    {
        Http?.Dispose();
        if (Sidecar is not null) await Sidecar.DisposeAsync();
        if (Scheduler is not null) await Scheduler.DisposeAsync();
    }

    /// <summary>Names of the app's jobs (via gRPC ListJobs).</summary>
    public async Task<List<string>> JobNamesAsync() => [.. (await Grpc.ListJobsAsync(new ListJobsRequest())).Jobs.Select(j => j.Name)];

    /// <summary>Asserts the canary is as stored, removes anything a row was allowed to add, and checks nothing else changed.</summary>
    public async Task AssertNothingLostAsync(List<string> before, bool mayAdd)
    {
        var canary = (await Grpc.GetJobAsync(new GetJobRequest { Name = "canary" })).Job;
        Assert.Equal(("@daily", 7u, CanaryData), (canary.Schedule, canary.Repeats, canary.Data));
        var after = await JobNamesAsync();
        if (mayAdd)
        {
            foreach (var name in after.Except(before)) await Grpc.DeleteJobAsync(new DeleteJobRequest { Name = name });
            after = await JobNamesAsync();
        }
        Assert.Equal(before, after);
    }

    public static string Show(string s) => s.Length > 40 ? $"{s[..12]}…({s.Length} chars)"
        : string.Concat(s.Select(c => c < 0x20 || c is >= '\u007f' and <= '\u00a0' || c > 0x2000 ? $"\\u{(int)c:x4}" : c.ToString()));
}

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

/// <summary>
/// Hostile values for every field of the sidecar's gRPC jobs API (ScheduleJob[Alpha1], GetJob[Alpha1], DeleteJob[Alpha1],
/// DeleteJobsByPrefix), one row each: daprd's code, reason and text where daprd defines them (its scheduler-validation
/// failures are Internal with reason DAPR_SCHEDULER_*), never an unshaped error, and the canary stays.
/// </summary>
public sealed class GrpcBadInputTests(BadInputStack stack) : IClassFixture<BadInputStack>
{
    private sealed record Row(Func<Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient, Task> Call, StatusCode Code, string? Reason, string Text = "");

    private const string Validation = "rpc error: code = Unknown desc = ";

    private static readonly string[] HostileNames =
    [
        "../x", "../../etc/passwd", "/etc/passwd", "a/b", "a\\b", "C:\\Windows", "a\0b", "a\nb", "\r", "\u007f", "\u0085", "\u202Egpj.exe",
        "zero\u200Bwidth", "\uFEFFbom", "a#b", "a?b", ".", "..", "\u001b[31m", "line\u2028sep", new string('n', 513), new string('n', 100_000),
    ];

    private static readonly Dictionary<string, Row> Rows = Build();

    private static Func<Dapr.Client.Autogen.Grpc.v1.Dapr.DaprClient, Task> Schedule(Job? job, bool overwrite = false, bool alpha = false) => async c =>
    {
        var request = new ScheduleJobRequest { Overwrite = overwrite };
        if (job is not null) request.Job = job;
        if (alpha) await c.ScheduleJobAlpha1Async(request);
        else await c.ScheduleJobAsync(request);
    };

    private static Dictionary<string, Row> Build()
    {
        var rows = new Dictionary<string, Row>();
        void Add(string label, Row row) => rows.Add(label, row);

        foreach (var name in HostileNames)
        {
            var shown = BadInputStack.Show(name);
            Add($"ScheduleJob name {shown}", new(Schedule(new Job { Name = name, Schedule = "@daily" }), StatusCode.Internal, "DAPR_SCHEDULER_SCHEDULE_JOB", Validation + "job name is invalid"));
            Add($"ScheduleJobAlpha1 name {shown}", new(Schedule(new Job { Name = name, Schedule = "@daily" }, alpha: true), StatusCode.Internal, "DAPR_SCHEDULER_SCHEDULE_JOB", Validation + "job name is invalid"));
            Add($"GetJob name {shown}", new(async c => await c.GetJobAsync(new GetJobRequest { Name = name }), StatusCode.Internal, "DAPR_SCHEDULER_GET_JOB", Validation + "job name is invalid"));
            Add($"GetJobAlpha1 name {shown}", new(async c => await c.GetJobAlpha1Async(new GetJobRequest { Name = name }), StatusCode.Internal, "DAPR_SCHEDULER_GET_JOB", Validation + "job name is invalid"));
            Add($"DeleteJob name {shown}", new(async c => await c.DeleteJobAsync(new DeleteJobRequest { Name = name }), StatusCode.Internal, "DAPR_SCHEDULER_DELETE_JOB", Validation + "job name is invalid"));
            Add($"DeleteJobAlpha1 name {shown}", new(async c => await c.DeleteJobAlpha1Async(new DeleteJobRequest { Name = name }), StatusCode.Internal, "DAPR_SCHEDULER_DELETE_JOB", Validation + "job name is invalid"));
        }
        foreach (var prefix in new[] { "../", "/", "a\0", "\u202E", "\u0085", new string('p', 600), "#" })
            Add($"DeleteJobsByPrefix {BadInputStack.Show(prefix)}", new(async c => await c.DeleteJobsByPrefixAsync(new DeleteJobsByPrefixRequest { NamePrefix = prefix }),
                StatusCode.Internal, "DAPR_SCHEDULER_DELETE_JOB", Validation + "job name is invalid"));

        Add("ScheduleJob no job", new(Schedule(null), StatusCode.InvalidArgument, "DAPR_SCHEDULER_EMPTY", "Job is empty"));
        Add("ScheduleJob empty name", new(Schedule(new Job { Schedule = "@daily" }), StatusCode.InvalidArgument, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty"));
        Add("ScheduleJob no schedule", new(Schedule(new Job { Name = "bad" }), StatusCode.InvalidArgument, "DAPR_SCHEDULER_SCHEDULE_EMPTY", "Schedule is empty"));
        Add("GetJob empty name", new(async c => await c.GetJobAsync(new GetJobRequest()), StatusCode.InvalidArgument, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty"));
        Add("DeleteJob empty name", new(async c => await c.DeleteJobAsync(new DeleteJobRequest()), StatusCode.InvalidArgument, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty"));

        foreach (var (label, job, text) in new (string, Job, string)[]
        {
            ("schedule empty", new Job { Name = "bad", Schedule = "" }, "empty spec string"),
            ("schedule 5 fields", new Job { Name = "bad", Schedule = "* * * * *" }, "expected exactly 6 fields"),
            ("schedule overflowing @every", new Job { Name = "bad", Schedule = "@every 9999999999999999999h" }, ""),
            ("schedule zone traversal", new Job { Name = "bad", Schedule = "TZ=../../../../etc/passwd 0 0 * * * *" }, ""),
            ("schedule absolute zone", new Job { Name = "bad", Schedule = "TZ=/etc/localtime 0 0 * * * *" }, ""),
            ("schedule huge", new Job { Name = "bad", Schedule = new string('*', 200_000) }, ""),
            ("schedule NUL", new Job { Name = "bad", Schedule = "\0" }, ""),
            ("dueTime text", new Job { Name = "bad", DueTime = "abc" }, "due time format not recognized"),
            ("dueTime overflowing", new Job { Name = "bad", DueTime = "9999999999999999999s" }, ""),
            ("dueTime after year 9999", new Job { Name = "bad", DueTime = "10000-01-01T00:00:00Z" }, ""),
            ("dueTime 1000000 years", new Job { Name = "bad", DueTime = "P1000000Y" }, ""),
            ("dueTime repeating", new Job { Name = "bad", DueTime = "R2/PT1S" }, "repeats not supported for due time"),
            ("ttl text", new Job { Name = "bad", Schedule = "@daily", Ttl = "abc" }, "ttl format not recognized"),
            ("ttl overflowing", new Job { Name = "bad", Schedule = "@daily", Ttl = "9999999999999999999s" }, ""),
            ("ttl without schedule", new Job { Name = "bad", DueTime = "1s", Ttl = "10s" }, "job must have a schedule to have a ttl"),
            ("repeats 0", new Job { Name = "bad", Schedule = "@daily", Repeats = 0 }, "defined repeats must be greater than 0"),
            ("repeats without schedule", new Job { Name = "bad", DueTime = "1s", Repeats = uint.MaxValue }, "job must have a schedule to repeat"),
            ("overwrite canary with bad schedule", new Job { Name = "canary", Schedule = "* * * * *" }, "expected exactly 6 fields"),
        })
            Add($"ScheduleJob {label}", new(Schedule(job, overwrite: job.Name == "canary"), StatusCode.Internal, "DAPR_SCHEDULER_SCHEDULE_JOB", Validation + "job failed validation: " + text));

        foreach (var (seconds, nanos) in new (long, int)[] { (1, -1), (-1, 1), (-5, 0), (0, -1), (0, 1_000_000_000), (0, int.MinValue), (long.MaxValue, 0), (long.MinValue, 0) })
            Add($"ScheduleJob interval {seconds}s {nanos}ns", new(Schedule(new Job
            {
                Name = seconds == 1 ? "canary" : "bad",
                Schedule = "@daily",
                FailurePolicy = new JobFailurePolicy { Constant = new JobFailurePolicyConstant { Interval = new Duration { Seconds = seconds, Nanos = nanos } } },
            }, overwrite: seconds == 1), StatusCode.InvalidArgument, "DAPR_SCHEDULER_SCHEDULE_JOB", "code = InvalidArgument desc = job failed validation: invalid failure policy interval: "));

        Add("ScheduleJob data over the job data limit", new(Schedule(new Job { Name = "canary", Schedule = "@daily", Data = Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[100_000]) }) }, overwrite: true),
            StatusCode.ResourceExhausted, "DAPR_SCHEDULER_SCHEDULE_JOB", "code = ResourceExhausted desc = job data is"));
        Add("ScheduleJob message over --max-body-size", new(Schedule(new Job { Name = "big", Schedule = "@daily", Data = Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[2 << 20]) }) }),
            StatusCode.ResourceExhausted, null));
        Add("ScheduleJob canary again", new(Schedule(new Job { Name = "canary", Schedule = "@daily" }), StatusCode.AlreadyExists, "DAPR_SCHEDULER_SCHEDULE_JOB", "code = AlreadyExists"));
        Add("GetJob missing", new(async c => await c.GetJobAsync(new GetJobRequest { Name = "missing" }), StatusCode.Internal, "DAPR_SCHEDULER_GET_JOB", "code = NotFound desc = job not found: missing"));

        foreach (var (label, job) in new (string, Job)[]
        {
            ("far-past due time", new Job { Name = "fine", Schedule = "@yearly", DueTime = "0001-01-01T00:00:00Z" }),
            ("far-future due time", new Job { Name = "fine", DueTime = "9999-12-31T23:59:59Z" }),
            ("negative due time", new Job { Name = "fine", DueTime = "-1s" }),
            ("repeats max", new Job { Name = "fine", Schedule = "@daily", Repeats = uint.MaxValue }),
            ("unicode name", new Job { Name = "名前-ü-😀", Schedule = "@daily" }),
            ("opaque data with a traversal type url", new Job { Name = "fine", Schedule = "@daily", Data = new Any { TypeUrl = "../../etc/passwd", Value = ByteString.CopyFrom(0xff, 0x00) } }),
            ("max retries max", new Job { Name = "fine", Schedule = "@daily", FailurePolicy = new JobFailurePolicy { Constant = new JobFailurePolicyConstant { MaxRetries = uint.MaxValue } } }),
        })
            Add($"accepted {label}", new(Schedule(job), StatusCode.OK, null));
        return rows;
    }

    public static TheoryData<string> Inputs => [.. Rows.Keys];

    [Fact]
    public void The_table_tries_over_one_hundred_and_fifty_inputs() => Assert.InRange(Rows.Count, 150, int.MaxValue);

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Hostile_input_gets_daprds_status_and_loses_nothing(string input)
    {
        var row = Rows[input];
        var before = await stack.JobNamesAsync();
        RpcException? error = null;
        try { await row.Call(stack.Grpc); }
        catch (RpcException e) { error = e; }
        var code = error?.StatusCode ?? StatusCode.OK;
        var detail = error?.Status.Detail ?? "";
        Assert.True(row.Code == code, $"{input}: expected {row.Code}, got {code}: {(detail.Length > 300 ? detail[..300] + "…" : detail)}");
        Assert.Contains(row.Text, detail);
        if (row.Reason is not null)
        {
            var status = Google.Rpc.Status.Parser.ParseFrom(error!.Trailers.GetValueBytes("grpc-status-details-bin"));
            Assert.Equal(row.Reason, Assert.Single(status.Details).Unpack<ErrorInfo>().Reason);
        }
        if (code == StatusCode.Internal) Assert.StartsWith("DAPR_SCHEDULER_", row.Reason);
        await stack.AssertNothingLostAsync(before, mayAdd: code == StatusCode.OK);
    }
}
