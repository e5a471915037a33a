using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Google.Rpc;
using Grpc.Core;

namespace Platform.Sidecar.Tests;

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
