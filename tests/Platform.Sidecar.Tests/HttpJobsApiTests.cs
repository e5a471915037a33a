using System.Net;
using System.Text.Json;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf.WellKnownTypes;
using static Platform.Sidecar.Tests.ErrorAsserts;

namespace Platform.Sidecar.Tests;

/// <summary>The HTTP jobs API (§2 and acceptance cases 6–16, 19, 25, 52) against a real sidecar and scheduler.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class HttpJobsApiTests(SchedulerFixture fixture)
{
    [Fact]
    public async Task Request_errors_have_daprd_codes_and_bodies()
    {
        var appId = Sidecars.UniqueAppId("http-errors");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId);
        using var http = sidecar.HttpClient();

        // 6
        var e6 = await AssertHttpErrorAsync(await http.PostJobAsync("test", "{}"), 400, "DAPR_SCHEDULER_SCHEDULE_EMPTY", "Schedule is empty");
        Assert.Equal(appId, e6.details![0].metadata["appID"]);
        Assert.Equal("default", e6.details![0].metadata["namespace"]);
        // 7
        await AssertHttpErrorAsync(await http.PostJobAsync("%20", """{"schedule":"@daily"}"""), 400, "DAPR_SCHEDULER_JOB_NAME_EMPTY", "Name is empty");
        // 8 (metadata carries only the app id)
        var e8 = await AssertHttpErrorAsync(await http.PostJobAsync("test", """{"name":"test1","schedule":"test","repeats":1}"""), 400,
            "DAPR_SCHEDULER_JOB_NAME", "Set the job name in the url only");
        Assert.Equal([("appID", appId)], e8.details![0].metadata.Select(kv => (kv.Key, kv.Value)));
        // 9
        var deleted = await http.DeleteAsync("/v1.0/jobs/notfound");
        Assert.Equal(HttpStatusCode.NoContent, deleted.StatusCode);
        // 10
        var e10 = await AssertHttpErrorAsync(await http.GetAsync("/v1.0/jobs/notfound"), 500, "DAPR_SCHEDULER_GET_JOB");
        Assert.Contains("failed to get job", e10.message);
        // 11
        await AssertHttpErrorAsync(await http.PostJobAsync("test", ""), 400, "DAPR_SCHEDULER_SCHEDULE_EMPTY");
        await AssertHttpErrorAsync(await http.PostJobAsync("test", "[{}]"), 400, "ERR_MALFORMED_REQUEST", kitError: false);
        await AssertHttpErrorAsync(await http.PostJobAsync("test", """{"name":"test"}"""), 400, "DAPR_SCHEDULER_JOB_NAME");
        var e11 = await AssertHttpErrorAsync(await http.PostJobAsync("test", """{"schedule":"test","repeats":-1}"""), 400, "ERR_MALFORMED_REQUEST", kitError: false);
        Assert.StartsWith("failed deserializing HTTP body: ", e11.message);
        // Malformed body wins over a blank name (daprd parses first).
        await AssertHttpErrorAsync(await http.PostJobAsync("%20", "[{}]", "v1.0-alpha1"), 400, "ERR_MALFORMED_REQUEST", kitError: false);

        // Over the 4 MiB body limit.
        var huge = "{\"schedule\":\"@daily\",\"data\":\"" + new string('x', 5 * 1024 * 1024) + "\"}";
        await AssertHttpErrorAsync(await http.PostJobAsync("huge", huge), 400, "ERR_BODY_READ",
            "failed to read request body: stream too large", kitError: false);

        // 19 and 25 over HTTP: 500 with the scheduler's text.
        var e19 = await AssertHttpErrorAsync(await http.PostJobAsync("c19", """{"schedule":"* * * * *"}"""), 500, "DAPR_SCHEDULER_SCHEDULE_JOB",
            "failed to schedule job due to: rpc error: code = Unknown desc = job failed validation: expected exactly 6 fields, found 5: [* * * * *]");
        Assert.Equal(appId, e19.details![0].metadata["appID"]);
        await AssertHttpErrorAsync(await http.PostJobAsync("c25", """{"dueTime":"abc"}"""), 500, "DAPR_SCHEDULER_SCHEDULE_JOB",
            "failed to schedule job due to: rpc error: code = Unknown desc = job failed validation: due time format not recognized");
    }

    [Fact]
    public async Task Accepted_bodies_answer_204_and_get_renders_the_job()
    {
        var appId = Sidecars.UniqueAppId("http-accept");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId);
        using var http = sidecar.HttpClient();

        // 12
        string[] bodies =
        [
            """{"schedule":"@daily"}""",
            """{"schedule":"@daily","repeats":3,"due_time":"10s","ttl":"11s"}""",
            """{"schedule":"@daily","repeats":3,"due_time":"10s","ttl":"11s","data":"Hello, World!"}""",
            """{"schedule":"@daily","repeats":3,"due_time":"10s","ttl":"11s","data":"{\"@type\":\"type.googleapis.com/google.protobuf.StringValue\",\"value\":\"x\"}"}""",
        ];
        for (var i = 0; i < bodies.Length; i++)
        {
            var response = await http.PostJobAsync($"ok{i}", bodies[i], i % 2 == 0 ? "v1.0" : "v1.0-alpha1");
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
            Assert.Empty(await response.Content.ReadAsByteArrayAsync());
            Assert.Null(response.Content.Headers.ContentType);
        }

        // 13: HTTP POST, then gRPC Get.
        var fields = """{"schedule":"@every 1m","repeats":123,"dueTime":"1000s","ttl":"123s","data":"hello world","failure_policy":{"constant":{"interval":"3s","max_retries":5}}}""";
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("test", fields)).StatusCode);
        var job = (await sidecar.GrpcClient().GetJobAsync(new GetJobRequest { Name = "test" })).Job;
        Assert.Equal(("test", "@every 1m", 123u, "1000s", "123s"), (job.Name, job.Schedule, job.Repeats, job.DueTime, job.Ttl));
        Assert.Equal("type.googleapis.com/google.protobuf.Value", job.Data.TypeUrl);
        Assert.Equal("hello world", job.Data.Unpack<Value>().StringValue);
        Assert.Equal((3L, 5u), (job.FailurePolicy.Constant.Interval.Seconds, job.FailurePolicy.Constant.MaxRetries));

        // GET renders protobuf-JSON with data as an Any and the policy.
        var get = await http.GetAsync("/v1.0/jobs/test");
        Assert.Equal(HttpStatusCode.OK, get.StatusCode);
        Assert.Equal("application/json", get.Content.Headers.ContentType?.MediaType);
        var root = JsonDocument.Parse(await get.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("@every 1m", root.GetProperty("schedule").GetString());
        Assert.Equal(123, root.GetProperty("repeats").GetInt32());
        Assert.Equal("1000s", root.GetProperty("dueTime").GetString());
        Assert.Equal("type.googleapis.com/google.protobuf.Value", root.GetProperty("data").GetProperty("@type").GetString());
        Assert.Equal("hello world", root.GetProperty("data").GetProperty("value").GetString());
        Assert.Equal("3s", root.GetProperty("failurePolicy").GetProperty("constant").GetProperty("interval").GetString());
        Assert.Equal(5, root.GetProperty("failurePolicy").GetProperty("constant").GetProperty("maxRetries").GetInt32());

        // 52: an object with @type is just an object, rendered back as the Value.
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("c52",
            """{"schedule":"@daily","data":{"@type":"type.googleapis.com/google.protobuf.StringValue","value":"expression"}}""")).StatusCode);
        var c52 = JsonDocument.Parse(await http.GetStringAsync("/v1.0-alpha1/jobs/c52")).RootElement.GetProperty("data");
        Assert.Equal("type.googleapis.com/google.protobuf.Value", c52.GetProperty("@type").GetString());
        Assert.Equal("type.googleapis.com/google.protobuf.StringValue", c52.GetProperty("value").GetProperty("@type").GetString());
        Assert.Equal("expression", c52.GetProperty("value").GetProperty("value").GetString());
        var defaults = JsonDocument.Parse(await http.GetStringAsync("/v1.0/jobs/ok0")).RootElement;
        Assert.Equal("1s", defaults.GetProperty("failurePolicy").GetProperty("constant").GetProperty("interval").GetString());
        Assert.Equal(3, defaults.GetProperty("failurePolicy").GetProperty("constant").GetProperty("maxRetries").GetInt32());
        Assert.False(defaults.TryGetProperty("data", out _));
    }

    [Fact]
    public async Task Overwrite_flag_controls_conflicts()
    {
        var appId = Sidecars.UniqueAppId("http-overwrite");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId);
        using var http = sidecar.HttpClient();

        // 15
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("overwrite1", """{"schedule":"@daily"}""")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("overwrite1",
            """{"schedule":"@weekly","repeats":3,"overwrite":true,"due_time":"10s","ttl":"11s"}""")).StatusCode);
        var o1 = JsonDocument.Parse(await http.GetStringAsync("/v1.0/jobs/overwrite1")).RootElement;
        Assert.Equal(("@weekly", 3), (o1.GetProperty("schedule").GetString(), o1.GetProperty("repeats").GetInt32()));

        // 16
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("overwrite2", """{"schedule":"@daily"}""")).StatusCode);
        var expected = $"failed to schedule job due to: rpc error: code = AlreadyExists desc = job already exists: 'app||default||{appId}||overwrite2'";
        await AssertHttpErrorAsync(await http.PostJobAsync("overwrite2", """{"schedule":"@weekly","repeats":3}"""), 409, "DAPR_SCHEDULER_SCHEDULE_JOB", expected);
        await AssertHttpErrorAsync(await http.PostJobAsync("overwrite2", """{"schedule":"@weekly","overwrite":false}"""), 409, "DAPR_SCHEDULER_SCHEDULE_JOB", expected);
        var o2 = JsonDocument.Parse(await http.GetStringAsync("/v1.0/jobs/overwrite2")).RootElement;
        Assert.Equal("@daily", o2.GetProperty("schedule").GetString());
        Assert.False(o2.TryGetProperty("repeats", out _));

        // A payload type daprd cannot render as JSON (the .NET SDK's own) fails GET over HTTP only.
        await sidecar.GrpcClient().ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "sdkpayload", Schedule = "@daily",
            Data = new Any { TypeUrl = "dapr.io/schedule/jobpayload", Value = Google.Protobuf.ByteString.CopyFromUtf8("{}") } } });
        var opaque = await AssertHttpErrorAsync(await http.GetAsync("/v1.0/jobs/sdkpayload"), 500, "ERR_INTERNAL", kitError: false);
        Assert.StartsWith("failed to encode response as JSON: ", opaque.message);

        // Health endpoints.
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await http.GetAsync("/v1.0/healthz/outbound")).StatusCode);
    }
}
