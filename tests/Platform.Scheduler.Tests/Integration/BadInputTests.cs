using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Common;
using Platform.Security;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>
/// One scheduler process for the whole bad-input table, holding canary jobs that no input may disturb. Each app speaks
/// over its own channel with a certificate naming it (mTLS on, as in a run); <see cref="AppHost"/> is the one identity
/// allowed to read and delete any app's jobs, so it reads both canaries.
/// </summary>
public sealed class BadInputScheduler : IAsyncLifetime
{
    public const string App = "attacker";
    public const string OtherApp = "victim";
    public static readonly Any CanaryData = Any.Pack(new StringValue { Value = "precious" });

    public SchedulerUnderTest S { get; private set; } = null!;

    /// <summary>The attacker's own client: its certificate names <see cref="App"/> in the default namespace.</summary>
    public SchedulerProtocol.Scheduler.SchedulerClient Attacker => S.ClientFor(App);

    /// <summary>The AppHost's client (the dashboard's identity): may get, list and delete for any namespace and app id.</summary>
    public SchedulerProtocol.Scheduler.SchedulerClient AppHost => new(S.ChannelAs(SpiffeId.AppHost()));

    public async Task InitializeAsync()
    {
        S = await StartAsync("--max-job-data-size", "65536");
        foreach (var app in new[] { App, OtherApp })
            await S.ClientFor(app).ScheduleJobAsync(new ScheduleJobRequest
            {
                Name = "canary",
                Metadata = Meta(app),
                Job = new Job { Schedule = "@daily", Repeats = 7, Data = CanaryData },
            });
    }

    public async Task DisposeAsync() => await S.DisposeAsync();
}

/// <summary>
/// Hostile values for every field of the scheduler's gRPC API, one row each. Every row must be answered with a clear
/// gRPC status (Dapr's code and text where Dapr defines one: its validation failures are Unknown with Dapr's message),
/// never an unhandled handler exception or Internal; the process must live on and both canary jobs stay as they were.
/// A few rows are values the API may accept (far-past and far-future times, opaque data): those must then be stored
/// exactly as sent.
/// </summary>
public sealed class SchedulerBadInputTests(BadInputScheduler fixture) : IClassFixture<BadInputScheduler>
{
    private const string Invalid = "job name is invalid";
    private const string Failed = "job failed validation: ";

    /// <summary>What a row must get: a status with a message containing a text, or (Code = OK) a stored job.</summary>
    private sealed record Expect(StatusCode Code, string Text = "");

    /// <param name="As">The identity the call is made with (its certificate names it); null for the attacker's own.</param>
    private sealed record Row(Func<SchedulerProtocol.Scheduler.SchedulerClient, Task> Call, Expect Expect, SpiffeId? As);

    private const string Denied = "identity does not match request";

    private static Job Daily() => new() { Schedule = "@daily" };

    private static Func<SchedulerProtocol.Scheduler.SchedulerClient, Task> Schedule(string name, Job job, JobMetadata? meta = null, bool overwrite = false) =>
        async c => await c.ScheduleJobAsync(new ScheduleJobRequest { Name = name, Job = job, Metadata = meta ?? Meta(BadInputScheduler.App), Overwrite = overwrite });

    private static JobFailurePolicy Interval(long seconds, int nanos) => new()
    {
        Constant = new JobFailurePolicyConstant { Interval = new Duration { Seconds = seconds, Nanos = nanos } },
    };

    private static readonly string[] HostileNames =
    [
        "", ".", "..", "../x", "../../etc/passwd", "/abs", "/etc/passwd", "C:\\Windows\\x", "\\\\server\\share", "a/b", "a\\b",
        "a?b", "a#frag", new string('n', 513), new string('n', 100_000), "a\0b", "a\nb", "\r", "\t", "\u007f", "\u0085next-line",
        "\u009bcsi", "\u202Egpj.exe", "zero\u200Bwidth", "\uFEFFbom", "%2e%2e%2fx/..", "line\u2028sep", "para\u2029sep", "esc\u001b[31m",
        "tag\U000E0041", "/", "\\",
    ];

    private static readonly string[] HostilePrefixes = ["../", "/", "a/", "a\0", "\u202E", "\u0085", new string('p', 600), "#", "?"];

    private static readonly (string Label, JobMetadata? Meta, string Text)[] HostileScopes =
    [
        ("no metadata", null, "missing namespace or appID in request"),
        ("empty app", new JobMetadata { Namespace = "default", AppId = "" }, "missing namespace or appID in request"),
        ("empty namespace", new JobMetadata { Namespace = "", AppId = "a" }, "missing namespace or appID in request"),
        ("huge app", Meta(new string('a', 100_000)), "invalid appID in request"),
        ("control app", Meta("a\nb"), "invalid appID in request"),
        ("NUL namespace", Meta("a", "\0"), "invalid namespace in request"),
        ("C1 app", Meta("\u0085"), "invalid appID in request"),
    ];

    private static readonly Dictionary<string, Row> Rows = Build();

    private static Dictionary<string, Row> Build()
    {
        var rows = new Dictionary<string, Row>();
        void Add(string label, Func<SchedulerProtocol.Scheduler.SchedulerClient, Task> call, Expect expect, SpiffeId? by = null) =>
            rows.Add(label, new Row(call, expect, by));
        static string Show(string s) => s.Length > 40 ? $"{s[..12]}…({s.Length} chars)" : string.Concat(s.Select(c => c < 0x20 || c is >= '\u007f' and <= '\u00a0' || c > 0x2000 ? $"\\u{(int)c:x4}" : c.ToString()));

        var unknownName = new Expect(StatusCode.Unknown, Invalid);
        foreach (var name in HostileNames)
        {
            Add($"schedule name {Show(name)}", Schedule(name, Daily()), unknownName);
            Add($"get name {Show(name)}", async c => await c.GetJobAsync(new GetJobRequest { Name = name, Metadata = Meta(BadInputScheduler.App) }), unknownName);
            Add($"delete name {Show(name)}", async c => await c.DeleteJobAsync(new DeleteJobRequest { Name = name, Metadata = Meta(BadInputScheduler.App) }), unknownName);
        }
        foreach (var prefix in HostilePrefixes)
            Add($"delete prefix {Show(prefix)}", async c => await c.DeleteByNamePrefixAsync(new DeleteByNamePrefixRequest
            {
                NamePrefix = prefix,
                Metadata = Meta(BadInputScheduler.App),
            }), unknownName);
        foreach (var (label, meta, text) in HostileScopes)
        {
            var expect = new Expect(StatusCode.InvalidArgument, text);
            // A missing namespace or app id reaches the service's own check whoever calls. A hostile one can be named by
            // no certificate (a SPIFFE id is a URI: no control characters, at most 65519 characters), so an app's caller
            // is refused by the identity check; the AppHost, the one identity allowed another app's scope for get, list
            // and delete, is what still reaches the scope validation with it.
            var missing = meta is null || meta.Namespace.Length == 0 || meta.AppId.Length == 0;
            var reader = missing ? null : SpiffeId.AppHost();
            var writerExpect = missing ? expect : new Expect(StatusCode.PermissionDenied, Denied);
            Add($"schedule {label}", Schedule("j", Daily(), meta ?? new JobMetadata()), writerExpect);
            if (meta is null) Add("schedule null metadata", async c => await c.ScheduleJobAsync(new ScheduleJobRequest { Name = "j", Job = Daily() }), expect);
            Add($"get {label}", async c => await c.GetJobAsync(new GetJobRequest { Name = "canary", Metadata = meta }), expect, reader);
            Add($"delete {label}", async c => await c.DeleteJobAsync(new DeleteJobRequest { Name = "canary", Metadata = meta }), expect, reader);
            Add($"list {label}", async c => await c.ListJobsAsync(new ListJobsRequest { Metadata = meta }), expect, reader);
            Add($"delete prefix {label}", async c => await c.DeleteByNamePrefixAsync(new DeleteByNamePrefixRequest { NamePrefix = "", Metadata = meta }), writerExpect);
        }

        // schedule
        foreach (var (schedule, text) in new[]
        {
            ("", "empty spec string"), ("* * * * *", "expected exactly 6 fields"), ("* * * * * * *", "expected exactly 6 fields"),
            ("60 * * * * *", "above maximum"), ("-1 * * * * *", ""), ("*/0 * * * * *", "step"), ("5-1 * * * * *", "beyond end of range"),
            ("99999999999999999999 * * * * *", ""), ("@every", ""), ("@every -1s", ""), ("@every abc", "invalid duration"),
            ("@every 9999999999999999999h", ""), ("@every 1e400s", ""), ("@foo", "unrecognized descriptor"),
            ("TZ=Not/AZone 0 0 * * * *", "Not/AZone"), ("TZ=../../../../etc/passwd 0 0 * * * *", ""), ("TZ=/etc/localtime 0 0 * * * *", ""),
            ("CRON_TZ=\0 0 0 * * * *", ""), ("TZ=", ""), (new string('*', 100_000), ""), ("\0", ""), ("R5/PT1S", ""), ("@every 1s\n@every 1s", ""),
        })
            Add($"schedule {Show(schedule)}", Schedule("bad-schedule", new Job { Schedule = schedule }), new Expect(StatusCode.Unknown, text.Length > 0 ? text : Failed));

        // due time
        foreach (var (due, text) in new[]
        {
            ("", "due time format not recognized"), ("abc", "due time format not recognized"),
            ("9999999999999999999s", ""), ("99999999999h", ""), ("1e9999s", ""), ("P1000000Y", ""), ("PT-1S", ""),
            ("2026-13-45T99:99:99Z", "due time format not recognized"), ("10000-01-01T00:00:00Z", ""), ("R2/PT1S", "repeats not supported for due time"),
            ("\0", ""), ("0001-01-01T00:00:00+99:00", ""), (new string('9', 10_000) + "s", ""),
        })
            Add($"dueTime {Show(due)}", Schedule("bad-due", new Job { DueTime = due }), new Expect(StatusCode.Unknown, text.Length > 0 ? text : Failed));

        // ttl
        foreach (var ttl in new[] { "", "abc", "9999999999999999999s", "P1000000Y", "\0", "10000-01-01T00:00:00Z", "R2/PT1S" })
            Add($"ttl {Show(ttl)}", Schedule("bad-ttl", new Job { Schedule = "@daily", Ttl = ttl }), new Expect(StatusCode.Unknown, Failed));

        // repeats
        Add("repeats 0", Schedule("bad-repeats", new Job { Schedule = "@daily", Repeats = 0 }), new Expect(StatusCode.Unknown, Failed + "defined repeats must be greater than 0"));
        Add("repeats without schedule", Schedule("bad-repeats", new Job { DueTime = "1h", Repeats = uint.MaxValue }), new Expect(StatusCode.Unknown, Failed + "job must have a schedule to repeat"));
        Add("neither schedule nor due time", Schedule("bad-empty", new Job()), new Expect(StatusCode.Unknown, Failed));
        Add("no job at all", async c => await c.ScheduleJobAsync(new ScheduleJobRequest { Name = "no-job", Metadata = Meta(BadInputScheduler.App) }), new Expect(StatusCode.Unknown, Failed));

        // failure policy: non-normalised and out-of-range Durations
        foreach (var (seconds, nanos, text) in new (long, int, string)[]
        {
            (1, -1, "different signs"), (-1, 1, "different signs"), (-5, 0, "negative"), (0, -1, "negative"), (0, 1_000_000_000, "out-of-range nanos"),
            (0, int.MinValue, "out-of-range nanos"), (long.MaxValue, 0, "exceeds +10000 years"), (long.MinValue, 0, "exceeds -10000 years"),
            (315_576_000_001, 0, "exceeds +10000 years"),
        })
            Add($"policy interval {seconds}s {nanos}ns", Schedule("bad-policy", new Job { Schedule = "@daily", FailurePolicy = Interval(seconds, nanos) }),
                new Expect(StatusCode.InvalidArgument, "invalid failure policy interval: "));

        // data
        Add("data over the job data limit", Schedule("big-data", new Job { Schedule = "@daily", Data = Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[70_000]) }) }),
            new Expect(StatusCode.ResourceExhausted, "over the limit of 65536 bytes per job"));
        Add("message over 4 MiB", Schedule("huge-data", new Job { Schedule = "@daily", Data = Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[5 << 20]) }) }),
            new Expect(StatusCode.ResourceExhausted));

        // hostile values aimed at a stored job: refused, and the stored job stays as it was
        Add("overwrite canary with bad schedule", Schedule("canary", new Job { Schedule = "* * * * *" }, overwrite: true), new Expect(StatusCode.Unknown, Failed));
        Add("overwrite canary with bad due time", Schedule("canary", new Job { DueTime = "abc" }, overwrite: true), new Expect(StatusCode.Unknown, Failed));
        Add("overwrite canary with bad policy", Schedule("canary", new Job { Schedule = "@daily", FailurePolicy = Interval(1, -1) }, overwrite: true),
            new Expect(StatusCode.InvalidArgument));
        Add("overwrite canary with big data", Schedule("canary", new Job { Schedule = "@daily", Data = Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[70_000]) }) }, overwrite: true),
            new Expect(StatusCode.ResourceExhausted));
        Add("schedule canary again without overwrite", Schedule("canary", Daily()), new Expect(StatusCode.AlreadyExists, "job already exists"));
        Add("get missing job", async c => await c.GetJobAsync(new GetJobRequest { Name = "missing", Metadata = Meta(BadInputScheduler.App) }),
            new Expect(StatusCode.NotFound, "job not found: missing"));

        // WatchJobs: the stream's first message names the app, and only that app's certificate may watch it. An app id
        // of 10 000 letters can be named by one (and is then refused by the scope validation); one with a control
        // character cannot (a URI escapes it), so the caller's identity check refuses it.
        var huge = new string('a', 10_000);
        foreach (var (label, initial, first, caller, code, text) in new (string, WatchJobsRequestInitial?, bool, SpiffeId?, StatusCode, string)[]
        {
            ("result before initial", null, false, null, StatusCode.InvalidArgument, "first message of WatchJobs must be initial"),
            ("empty app id", new WatchJobsRequestInitial { Namespace = "default", AppId = "" }, true, null, StatusCode.InvalidArgument, "missing namespace or appID in request"),
            ("empty namespace", new WatchJobsRequestInitial { Namespace = "", AppId = "a" }, true, null, StatusCode.InvalidArgument, "missing namespace or appID in request"),
            ("control app id", new WatchJobsRequestInitial { Namespace = "default", AppId = "a\u0085" }, true, null, StatusCode.PermissionDenied, Denied),
            ("huge app id", new WatchJobsRequestInitial { Namespace = "default", AppId = huge }, true, TestSupport.TestIdentity.App(huge), StatusCode.InvalidArgument, "invalid appID in request"),
        })
            Add($"watch {label}", async c =>
            {
                using var call = c.WatchJobs();
                await call.RequestStream.WriteAsync(first ? new WatchJobsRequest { Initial = initial } : new WatchJobsRequest { Result = new WatchJobsRequestResult { Id = 1 } });
                await call.ResponseStream.MoveNext();
            }, new Expect(code, text), caller);

        // values the API may take: they must be stored exactly as sent
        var stored = new Expect(StatusCode.OK);
        // Dapr takes a due time or ttl in the past: the job is due at once, or expires (and is deleted) at once.
        Add("negative due time", Schedule("past-due", new Job { DueTime = "-1s" }), stored);
        Add("negative ttl", Schedule("past-ttl", new Job { Schedule = "@daily", Ttl = "-1s" }), stored);
        Add("far-past ttl", Schedule("far-past-ttl", new Job { Schedule = "@daily", Ttl = "0001-01-01T00:00:00Z" }), stored);
        Add("bare ISO period due time", Schedule("iso-p", new Job { DueTime = "P" }), stored);
        Add("far-past due time", Schedule("far-past", new Job { Schedule = "@yearly", DueTime = "0001-01-01T00:00:00Z" }), stored);
        Add("far-future due time", Schedule("far-future", new Job { DueTime = "9999-12-31T23:59:59Z" }), stored);
        Add("repeats max", Schedule("many", new Job { Schedule = "@daily", Repeats = uint.MaxValue }), stored);
        Add("unicode name", Schedule("名前-ü-😀", Daily()), stored);
        Add("opaque data with a traversal type url", Schedule("opaque", new Job
        {
            Schedule = "@daily",
            Data = new Any { TypeUrl = "../../etc/passwd", Value = ByteString.CopyFrom(0xff, 0x00, 0xfe) },
        }), stored);
        return rows;
    }

    public static TheoryData<string> Inputs => [.. Rows.Keys];

    /// <summary>How many inputs the table tries (stated in the report).</summary>
    [Fact]
    public void The_table_tries_over_two_hundred_inputs() => Assert.InRange(Rows.Count, 200, int.MaxValue);

    [Theory]
    [MemberData(nameof(Inputs))]
    public async Task Hostile_input_gets_a_clear_status_and_loses_nothing(string input)
    {
        var row = Rows[input];
        var client = fixture.Attacker;
        var before = (await client.ListJobsAsync(new ListJobsRequest { Metadata = Meta(BadInputScheduler.App) })).Jobs.Select(j => j.Name).ToList();
        RpcException? error = null;
        try { await row.Call(row.As is null ? client : new(fixture.S.ChannelAs(row.As))); }
        catch (RpcException e) { error = e; }

        var code = error?.StatusCode ?? StatusCode.OK;
        var text = error?.Status.Detail ?? "";
        Assert.NotEqual(StatusCode.Internal, code);
        Assert.DoesNotContain("Exception was thrown by handler", text);
        Assert.True(code == row.Expect.Code, $"{input}: expected {row.Expect.Code}, got {code}: {text}");
        Assert.Contains(row.Expect.Text, text);

        if (row.Expect.Code == StatusCode.OK)
        {
            // Taken (and possibly already expired and deleted by the engine): clear it away for the next row.
            foreach (var job in (await client.ListJobsAsync(new ListJobsRequest { Metadata = Meta(BadInputScheduler.App) })).Jobs)
                if (!before.Contains(job.Name)) await client.DeleteJobAsync(new DeleteJobRequest { Name = job.Name, Metadata = Meta(BadInputScheduler.App) });
        }

        // Nothing lost: both canaries as stored, the attacker's app holding exactly what it held before.
        foreach (var app in new[] { BadInputScheduler.App, BadInputScheduler.OtherApp })
        {
            var canary = (await fixture.AppHost.GetJobAsync(new GetJobRequest { Name = "canary", Metadata = Meta(app) })).Job;
            Assert.Equal(("@daily", 7u, BadInputScheduler.CanaryData), (canary.Schedule, canary.Repeats, canary.Data));
        }
        var after = (await client.ListJobsAsync(new ListJobsRequest { Metadata = Meta(BadInputScheduler.App) })).Jobs.Select(j => j.Name);
        Assert.Equal(before, after);
    }
}
