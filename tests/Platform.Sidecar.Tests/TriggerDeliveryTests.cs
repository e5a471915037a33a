using System.Text;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>Triggers from the real scheduler reach real test apps through the real sidecar with daprd's exact payloads (§7 32–37).</summary>
[Collection(IntegrationCollection.Name)]
public sealed class TriggerDeliveryTests(SchedulerFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);

    private static async Task<Dictionary<string, T>> CollectAsync<T>(System.Threading.Channels.Channel<T> channel, int count, Func<T, string> key)
    {
        var received = new Dictionary<string, T>();
        while (received.Count < count)
        {
            var item = await channel.NextAsync(Wait, $"trigger {received.Count + 1} of {count}");
            received.TryAdd(key(item), item);
        }
        return received;
    }

    [Fact]
    public async Task Http_app_receives_daprd_bodies_for_http_and_grpc_scheduled_jobs()
    {
        await using var app = await HttpTestApp.StartAsync();
        var appId = Sidecars.UniqueAppId("deliver-http");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId, app.Port,
            environment: new Dictionary<string, string?> { ["APP_API_TOKEN"] = "test-job-app-token" });
        using var http = sidecar.HttpClient();
        var grpc = sidecar.GrpcClient();

        // Case 32: HTTP-scheduled data X arrives as compact JSON of X.
        var httpCases = new Dictionary<string, (string Data, string Expected)>
        {
            ["h1"] = ("\"someData\"", "\"someData\""),
            ["h2"] = ("\"\\\"xyz\\\"\"", "\"\\\"xyz\\\"\""),
            ["h3"] = ("123", "123"),
            ["h4"] = ("{\"expression\":\"val\"}", "{\"expression\":\"val\"}"),
            ["h5"] = ("  {    \"expression\":   \"val\" } ", "{\"expression\":\"val\"}"),
            ["h6"] = ("{\"@type\":\"type.googleapis.com/google.protobuf.StringValue\",\"value\":\"aproto\"}",
                      "{\"@type\":\"type.googleapis.com/google.protobuf.StringValue\",\"value\":\"aproto\"}"),
        };
        foreach (var (name, c) in httpCases)
            Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.PostJobAsync(name, $"{{\"dueTime\":\"0s\",\"data\":{c.Data}}}")).StatusCode);
        // Case 36: no data ⇒ empty body.
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.PostJobAsync("nodata", """{"due_time":"0s"}""")).StatusCode);

        // Case 33: gRPC-scheduled data.
        var grpcCases = new Dictionary<string, (Any Data, byte[] Expected)>
        {
            ["g1"] = (Any.Pack(new StringValue { Value = "hello world" }), Encoding.UTF8.GetBytes("hello world")),
            ["g2"] = (Any.Pack(new Int64Value { Value = 123 }), [0x08, 0x7B]),
            ["g3"] = (Any.Pack(Value.ForNumber(123)), Encoding.UTF8.GetBytes("123")),
            ["g4"] = (new Any { TypeUrl = "type.googleapis.com/google.type.Expr", Value = ByteString.CopyFromUtf8("{\"expression\": \"val\"}") },
                      Encoding.UTF8.GetBytes("{\"expression\": \"val\"}")),
            ["g5"] = (Any.Pack(new BytesValue { Value = ByteString.CopyFromUtf8("hello world") }), Encoding.UTF8.GetBytes("hello world")),
            ["g6"] = (Any.Pack(Value.ForBool(true)), Encoding.UTF8.GetBytes("true")),
            ["g7"] = (Any.Pack(Value.ForString("true")), Encoding.UTF8.GetBytes("\"true\"")),
        };
        foreach (var (name, c) in grpcCases)
            await grpc.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = name, DueTime = "0s", Data = c.Data } });
        await grpc.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "gnodata", DueTime = "0s" } });

        var received = await CollectAsync(app.Jobs, httpCases.Count + grpcCases.Count + 2, r => r.Path);
        foreach (var (name, c) in httpCases) Assert.Equal(c.Expected, received["/job/" + name].BodyText);
        foreach (var (name, c) in grpcCases) Assert.Equal(c.Expected, received["/job/" + name].Body);
        Assert.Empty(received["/job/nodata"].Body);
        Assert.Empty(received["/job/gnodata"].Body);
        foreach (var r in received.Values)
        {
            Assert.Equal("POST", r.Method);
            Assert.Equal("application/json", r.Headers["content-type"]);
            // Case 37: the app token rides on every trigger; the trace continues into the app.
            Assert.Equal("test-job-app-token", r.Headers["dapr-api-token"]);
            Assert.Matches("^00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]$", r.Headers["traceparent"]);
        }
    }

    [Fact]
    public async Task Grpc_app_receives_job_event_requests_and_alpha_only_apps_get_the_fallback()
    {
        await using var app = await GrpcTestApp.StartAsync();
        var appId = Sidecars.UniqueAppId("deliver-grpc");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId, app.Port, "grpc",
            environment: new Dictionary<string, string?> { ["APP_API_TOKEN"] = "grpc-app-token" });
        using var http = sidecar.HttpClient();
        var grpc = sidecar.GrpcClient();

        // Case 34: HTTP-scheduled data arrives as Any(Value).
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.PostJobAsync("s", """{"dueTime":"0s","data":"123"}""")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.PostJobAsync("n", """{"dueTime":"0s","data":123}""")).StatusCode);
        Assert.Equal(System.Net.HttpStatusCode.NoContent, (await http.PostJobAsync("o", """{"dueTime":"0s","data":{"a":"b"}}""")).StatusCode);
        // Case 35: gRPC-scheduled data arrives byte-identical; case 36: no data ⇒ null.
        var custom = new Any { TypeUrl = "type.googleapis.com/custom.Message", Value = ByteString.CopyFrom(0x0a, 0x04, 0x70, 0x6f, 0x6e, 0x67) };
        var bytes = Any.Pack(new BytesValue { Value = ByteString.CopyFromUtf8("hello world") });
        await grpc.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "custom", DueTime = "0s", Data = custom } });
        await grpc.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "bytes", DueTime = "0s", Data = bytes } });
        await grpc.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "my||job@name", DueTime = "0s" } });

        var received = await CollectAsync(app.Jobs, 6, e => e.Request.Name);
        foreach (var e in received.Values)
        {
            Assert.Equal("AppCallback", e.Service);
            Assert.Equal("job/" + e.Request.Name, e.Request.Method);
            Assert.Equal(HTTPExtension.Types.Verb.Post, e.Request.HttpExtension.Verb);
            Assert.Equal("grpc-app-token", e.Headers["dapr-api-token"]);
        }
        Assert.Equal("type.googleapis.com/google.protobuf.Value", received["s"].Request.ContentType);
        Assert.Equal("123", received["s"].Request.Data.Unpack<Value>().StringValue);
        Assert.Equal(123, received["n"].Request.Data.Unpack<Value>().NumberValue);
        Assert.Equal("b", received["o"].Request.Data.Unpack<Value>().StructValue.Fields["a"].StringValue);
        Assert.Equal(custom, received["custom"].Request.Data);
        Assert.Equal("type.googleapis.com/custom.Message", received["custom"].Request.ContentType);
        Assert.Equal(bytes, received["bytes"].Request.Data);
        Assert.Null(received["my||job@name"].Request.Data);
        Assert.Equal("", received["my||job@name"].Request.ContentType);

        // An app that only implements the Alpha1 callback still gets its triggers.
        await using var alphaApp = await GrpcTestApp.StartAsync(alphaOnly: true);
        await using var alphaSidecar = await Sidecars.StartAsync(fixture, Sidecars.UniqueAppId("deliver-alpha"), alphaApp.Port, "grpc");
        await alphaSidecar.GrpcClient().ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "alpha", DueTime = "0s" } });
        var alpha = await alphaApp.Jobs.NextAsync(Wait, "alpha trigger");
        Assert.Equal(("AppCallbackAlpha", "alpha", "job/alpha"), (alpha.Service, alpha.Request.Name, alpha.Request.Method));
    }

    [Fact]
    public async Task Grpc_app_that_fails_a_trigger_gets_it_again_per_the_failure_policy()
    {
        await using var app = await GrpcTestApp.StartAsync();
        app.Succeeds = _ => false;
        await using var sidecar = await Sidecars.StartAsync(fixture, Sidecars.UniqueAppId("grpc-fails"), app.Port, "grpc");
        var grpc = sidecar.GrpcClient();
        await grpc.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "fails", DueTime = "0s", FailurePolicy = new JobFailurePolicy
        {
            Constant = new JobFailurePolicyConstant { Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), MaxRetries = 2 },
        } } });

        var deliveries = new List<ReceivedJobEvent>();
        for (var i = 0; i < 3; i++) deliveries.Add(await app.Jobs.NextAsync(Wait, $"delivery {i + 1} of 3"));
        Assert.All(deliveries, d => Assert.Equal("fails", d.Request.Name));
        // The scheduler deletes the one-shot job after the answer to its last retry: no delivery can follow that.
        await Poll.UntilAsync(async () =>
        {
            try { await grpc.GetJobAsync(new GetJobRequest { Name = "fails" }); return false; }
            catch (RpcException e) when (e.Status.Detail.Contains("code = NotFound")) { return true; }
        }, Wait, "the job deleted after its last retry");
        Assert.False(app.Jobs.Reader.TryRead(out var extra), $"a fourth delivery: {extra}");
    }

    [Fact]
    public async Task Sidecar_killed_while_a_trigger_is_in_flight_gets_it_again_after_restart()
    {
        await using var app = await HttpTestApp.StartAsync();
        var firstArrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var neverAnswer = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deliveries = 0;
        // The first delivery is held (never answered) so the sidecar dies with the trigger unacknowledged.
        app.Respond = _ =>
        {
            if (Interlocked.Increment(ref deliveries) == 1)
            {
                firstArrived.TrySetResult();
                return neverAnswer.Task;
            }
            return Task.FromResult(200);
        };
        var appId = Sidecars.UniqueAppId("restart");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId, app.Port);
        Assert.Equal(System.Net.HttpStatusCode.NoContent,
            (await sidecar.HttpClient().PostJobAsync("survivor", """{"dueTime":"0s","data":{"n":1}}""")).StatusCode);
        var first = await app.Jobs.NextAsync(Wait, "first delivery");
        await firstArrived.Task.WaitAsync(Wait);
        await sidecar.KillAsync();

        await sidecar.RestartAsync();
        var again = await app.Jobs.NextAsync(TimeSpan.FromSeconds(30), "redelivery after the sidecar restart");
        Assert.Equal(("/job/survivor", "{\"n\":1}"), (again.Path, again.BodyText));
        Assert.Equal(first.BodyText, again.BodyText);
        neverAnswer.TrySetResult(200);
    }

    [Fact]
    public async Task Replicas_with_one_app_id_all_receive_triggers()
    {
        // Case 46: three sidecars of one app id; the scheduler spreads the ticks of one job over their streams.
        var appId = Sidecars.UniqueAppId("replicas");
        var apps = new List<HttpTestApp>();
        var sidecars = new List<TestSupport.SidecarProcess>();
        try
        {
            for (var i = 0; i < 3; i++)
            {
                apps.Add(await HttpTestApp.StartAsync());
                sidecars.Add(await Sidecars.StartAsync(fixture, appId, apps[i].Port));
            }
            Assert.Equal(System.Net.HttpStatusCode.NoContent,
                (await sidecars[0].HttpClient().PostJobAsync("spread", """{"schedule":"@every 1s","dueTime":"0s"}""")).StatusCode);
            foreach (var app in apps)
                Assert.Equal("/job/spread", (await app.Jobs.NextAsync(TimeSpan.FromSeconds(30), "a trigger at every replica")).Path);
            Assert.Equal(System.Net.HttpStatusCode.NoContent, (await sidecars[1].HttpClient().DeleteAsync("/v1.0/jobs/spread")).StatusCode);
        }
        finally
        {
            foreach (var s in sidecars) await s.DisposeAsync();
            foreach (var a in apps) await a.DisposeAsync();
        }
    }
}
