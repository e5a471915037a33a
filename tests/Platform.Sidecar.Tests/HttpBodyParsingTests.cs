using System.Text;
using Google.Protobuf.WellKnownTypes;
using Platform.Sidecar.Api;
using Platform.Sidecar.AppChannel;

namespace Platform.Sidecar.Tests;

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
