using Platform.Sidecar.Api;
using Platform.Sidecar.AppChannel;
using Platform.Sidecar.Hosting;
using System.Text;
using System.Text.Json;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using RuntimeJob = Dapr.Client.Autogen.Grpc.v1.Job;

namespace Platform.Sidecar.Tests;

public class JobPayloadTests
{
    private static string Body(Any? data) => Encoding.UTF8.GetString(JobPayload.HttpBody(data).Span);

    [Theory]
    [InlineData("\"someData\"", "\"someData\"")]
    [InlineData("\"\\\"xyz\\\"\"", "\"\\\"xyz\\\"\"")]
    [InlineData("123", "123")]
    [InlineData("{\"expression\":\"val\"}", "{\"expression\":\"val\"}")]
    [InlineData("  {    \"expression\":   \"val\" } ", "{\"expression\":\"val\"}")]
    [InlineData("true", "true")]
    [InlineData("\"true\"", "\"true\"")]
    [InlineData("1.5", "1.5")]
    [InlineData("[1,\"a\",null]", "[1,\"a\",null]")]
    [InlineData("{\"@type\":\"type.googleapis.com/google.protobuf.StringValue\",\"value\":\"aproto\"}",
        "{\"@type\":\"type.googleapis.com/google.protobuf.StringValue\",\"value\":\"aproto\"}")]
    public void Value_data_is_sent_as_compact_json(string json, string expected)
    {
        var value = Value.Parser.ParseJson(json);
        Assert.Equal(expected, Body(Any.Pack(value)));
    }

    [Fact]
    public void No_data_and_empty_value_give_an_empty_body()
    {
        Assert.Equal("", Body(null));
        Assert.Equal("", Body(Any.Pack(new Value())));
    }

    [Fact]
    public void Other_types_are_raw_bytes_trimmed_of_go_white_space()
    {
        Assert.Equal("hello world", Body(Any.Pack(new StringValue { Value = "hello world" })));
        Assert.Equal("hello world", Body(Any.Pack(new BytesValue { Value = ByteString.CopyFromUtf8("hello world") })));
        Assert.Equal(new byte[] { 0x08, 0x7B }, JobPayload.HttpBody(Any.Pack(new Int64Value { Value = 123 })).ToArray());
        var custom = new Any { TypeUrl = "type.googleapis.com/google.type.Expr", Value = ByteString.CopyFromUtf8("{\"expression\": \"val\"}") };
        Assert.Equal("{\"expression\": \"val\"}", Body(custom));
    }

    [Fact]
    public void Trim_space_follows_go_unicode_white_space()
    {
        var input = Encoding.UTF8.GetBytes("\u00a0\t\n\v\f\r \u0085x y\u3000\u2028");
        Assert.Equal("x y", Encoding.UTF8.GetString(GoBytes.TrimSpace(input).Span));
        var invalid = new byte[] { 0x20, 0xff, 0x20 };
        Assert.Equal(new byte[] { 0xff }, GoBytes.TrimSpace(invalid).ToArray());
    }
}

public class HttpBodyParsingTests
{
    private static Platform.Sidecar.Protos.HttpJobRequest Parse(string body) => HttpJobsEndpoints.ParseBody(Encoding.UTF8.GetBytes(body));

    [Fact]
    public void Accepts_json_and_proto_field_names_and_ignores_unknown_fields()
    {
        var a = Parse("""{"schedule":"@every 1m","repeats":123,"dueTime":"1000s","ttl":"123s","data":"hello world","failure_policy":{"constant":{"interval":"3s","max_retries":5}},"unknown":1}""");
        Assert.Equal("@every 1m", a.Schedule);
        Assert.Equal(123u, a.Repeats);
        Assert.Equal("1000s", a.DueTime);
        Assert.Equal(5u, a.FailurePolicy.Constant.MaxRetries);
        Assert.Equal(3, a.FailurePolicy.Constant.Interval.Seconds);
        var b = Parse("""{"due_time":"0s","repeats":"7","failurePolicy":{"drop":{}}}""");
        Assert.Equal("0s", b.DueTime);
        Assert.Equal(7u, b.Repeats);
        Assert.NotNull(b.FailurePolicy.Drop);
    }

    [Theory]
    [InlineData("[{}]")]
    [InlineData("""{"schedule":"test","repeats":-1}""")]
    [InlineData("""{"schedule":"test","repeats":1.5}""")]
    [InlineData("{not json")]
    [InlineData("""{"schedule":"x","failurePolicy":{"constant":{"interval":"1m"}}}""")]
    public void Malformed_bodies_are_err_malformed_request(string body)
    {
        var error = Assert.Throws<DaprError>(() => Parse(body));
        Assert.Equal("ERR_MALFORMED_REQUEST", error.Reason);
        Assert.StartsWith("failed deserializing HTTP body: ", error.Message);
        Assert.Equal(400, error.HttpStatus);
    }

    [Fact]
    public void Empty_body_has_no_fields_and_data_is_any_json_value_in_an_any()
    {
        var empty = Parse("");
        Assert.False(empty.HasSchedule);
        Assert.False(empty.HasDueTime);
        var job = HttpJobsEndpoints.ToRuntimeJob("n", Parse("""{"schedule":"@daily","data":{"@type":"type.googleapis.com/google.protobuf.StringValue","value":"x"}}"""));
        Assert.Equal(JobPayload.ValueTypeUrl, job.Data.TypeUrl);
        var value = job.Data.Unpack<Value>();
        Assert.Equal("x", value.StructValue.Fields["value"].StringValue);
        Assert.False(job.HasRepeats);
        Assert.Null(job.FailurePolicy);
    }

    [Theory]
    [InlineData("a+b", "a b")]
    [InlineData("a%2Fb", "a/b")]
    [InlineData("my%7C%7Cjob@name", "my||job@name")]
    [InlineData("%20", " ")]
    public void Name_is_query_unescaped(string raw, string expected) => Assert.Equal(expected, HttpJobsEndpoints.QueryUnescape(raw));

    [Fact]
    public void Malformed_escape_is_refused() => Assert.Null(HttpJobsEndpoints.QueryUnescape("a%zz"));
}

public class DaprErrorTests
{
    [Fact]
    public void Kit_error_renders_json_and_grpc_status_details()
    {
        var error = new DaprErrors("app1", "ns1").ScheduleEmpty();
        using var doc = JsonDocument.Parse(error.ToJson());
        var root = doc.RootElement;
        Assert.Equal(["errorCode", "message", "details"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal("DAPR_SCHEDULER_SCHEDULE_EMPTY", root.GetProperty("errorCode").GetString());
        var detail = root.GetProperty("details")[0];
        Assert.Equal(["@type", "domain", "metadata", "reason"], detail.EnumerateObject().Select(p => p.Name));
        Assert.Equal("ns1", detail.GetProperty("metadata").GetProperty("namespace").GetString());

        var rpc = error.ToRpcException();
        Assert.Equal(StatusCode.InvalidArgument, rpc.StatusCode);
        var status = Google.Rpc.Status.Parser.ParseFrom(rpc.Trailers.GetValueBytes(DaprError.DetailsTrailer));
        var info = status.Details.Single().Unpack<Google.Rpc.ErrorInfo>();
        Assert.Equal(("dapr.io", "DAPR_SCHEDULER_SCHEDULE_EMPTY", "app1"), (info.Domain, info.Reason, info.Metadata["appID"]));
    }

    [Fact]
    public void Schedule_failure_passes_the_code_through_except_unknown()
    {
        var errors = new DaprErrors("a", "default");
        var exists = errors.ScheduleFailed(StatusCode.AlreadyExists, DaprError.GoErrorString(new RpcException(new Status(StatusCode.AlreadyExists, "job already exists: 'x'"))));
        Assert.Equal((StatusCode.AlreadyExists, 409), (exists.Code, exists.HttpStatus));
        Assert.Equal("failed to schedule job due to: rpc error: code = AlreadyExists desc = job already exists: 'x'", exists.Message);
        var unknown = errors.ScheduleFailed(StatusCode.Unknown, "rpc error: code = Unknown desc = bad");
        Assert.Equal((StatusCode.Internal, 500), (unknown.Code, unknown.HttpStatus));
        Assert.Equal("rpc error: code = Canceled desc = x", DaprError.GoErrorString(new RpcException(new Status(StatusCode.Cancelled, "x"))));
    }
}

public class ConversionAndFlagsTests
{
    [Fact]
    public void Job_conversion_keeps_presence_and_failure_policy()
    {
        var job = new RuntimeJob { Name = "j", DueTime = "0s", Repeats = 0, Data = Any.Pack(new StringValue { Value = "x" }),
            FailurePolicy = new Dapr.Client.Autogen.Grpc.v1.JobFailurePolicy { Constant = new() { Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(3)), MaxRetries = 5 } } };
        var s = JobConversion.ToScheduler(job);
        Assert.True(s.HasRepeats);
        Assert.False(s.HasSchedule);
        Assert.False(s.HasTtl);
        Assert.Equal(5u, s.FailurePolicy.Constant.MaxRetries);
        var back = JobConversion.ToRuntime("j", s);
        Assert.Equal(job, back);
    }

    [Fact]
    public void Flags_accept_daprd_forms_and_refuse_unknown_ones()
    {
        var normalised = SidecarFlags.Normalise(["--app-id", "a", "--app-port=5000", "-dapr-http-port", "1", "--scheduler-host-address", ""]);
        Assert.Equal(["--Sidecar:AppId=a", "--Sidecar:AppPort=5000", "--Sidecar:DaprHttpPort=1", "--Sidecar:SchedulerHostAddress="], normalised);
        Assert.Throws<ArgumentException>(() => SidecarFlags.Normalise(["--nope", "x"]));
        var o = new SidecarOptions { SchedulerHostAddress = " a:1, b:2 ,", AppPort = "" };
        Assert.Equal(["a:1", "b:2"], o.SchedulerHosts);
        Assert.Null(o.AppPortNumber);
    }
}
