using System.Net;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using static Platform.Sidecar.Tests.ErrorAsserts;

namespace Platform.Sidecar.Tests;

/// <summary>The bounds against a real sidecar and scheduler.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class BoundsProcessTests(SchedulerFixture fixture)
{
    [Fact]
    public async Task A_hanging_app_call_times_out_and_the_failure_policy_retries_it()
    {
        await using var app = await HttpTestApp.StartAsync();
        var neverAnswer = new TaskCompletionSource<int>(TaskCreationOptions.RunContinuationsAsynchronously);
        var deliveries = 0;
        app.Respond = _ => Interlocked.Increment(ref deliveries) == 1 ? neverAnswer.Task : Task.FromResult(200);
        var appId = Sidecars.UniqueAppId("app-timeout");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId, app.Port, extraArgs: ["--app-job-timeout", "500"]);
        Assert.Equal(HttpStatusCode.NoContent, (await sidecar.HttpClient().PostJobAsync("hang",
            """{"dueTime":"0s","failurePolicy":{"constant":{"interval":"0s","maxRetries":1}}}""")).StatusCode);

        Assert.Equal("/job/hang", (await app.Jobs.NextAsync(TimeSpan.FromSeconds(20), "first delivery")).Path);
        // Without the timeout the first call would hold the trigger for ever and nothing more would come.
        Assert.Equal("/job/hang", (await app.Jobs.NextAsync(TimeSpan.FromSeconds(20), "retry after the app call timed out")).Path);
        neverAnswer.TrySetResult(200);
    }

    [Fact]
    public async Task Max_body_size_bounds_http_bodies_and_grpc_messages()
    {
        var appId = Sidecars.UniqueAppId("body-size");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId, extraArgs: ["--max-body-size", "64Ki"]);
        using var http = sidecar.HttpClient();
        var body = "{\"schedule\":\"@daily\",\"data\":\"" + new string('x', 100 * 1024) + "\"}";
        await AssertHttpErrorAsync(await http.PostJobAsync("big", body), 400, "ERR_BODY_READ",
            "failed to read request body: stream too large", kitError: false);

        var grpc = sidecar.GrpcClient();
        var e = await Assert.ThrowsAsync<RpcException>(() => grpc.ScheduleJobAsync(new ScheduleJobRequest
        {
            Job = new Job { Name = "big", Schedule = "@daily", Data = Any.Pack(new BytesValue { Value = ByteString.CopyFrom(new byte[100 * 1024]) }) },
        }).ResponseAsync);
        Assert.Equal(StatusCode.ResourceExhausted, e.StatusCode);

        // Under the bound both pass.
        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("small", """{"schedule":"@daily","data":"ok"}""")).StatusCode);
        await grpc.DeleteJobAsync(new DeleteJobRequest { Name = "small" });
    }
}
