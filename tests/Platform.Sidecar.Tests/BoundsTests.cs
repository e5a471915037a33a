using Platform.Sidecar.AppChannel;
using Platform.Sidecar.Hosting;
using System.Net;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Platform.Sidecar.Tests.ErrorAsserts;

namespace Platform.Sidecar.Tests;

/// <summary>The body size flags of daprd, read as daprd reads them.</summary>
public class BodySizeFlagTests
{
    [Theory]
    [InlineData(new string[0], 4 * 1024 * 1024)]
    [InlineData(new[] { "--max-body-size", "1Mi" }, 1024 * 1024)]
    [InlineData(new[] { "--max-body-size", "512Ki" }, 512 * 1024)]
    [InlineData(new[] { "--max-body-size", "2M" }, 2_000_000)]
    [InlineData(new[] { "--max-body-size", "65536" }, 65536)]
    [InlineData(new[] { "--dapr-http-max-request-size", "16" }, 16 * 1024 * 1024)]
    [InlineData(new[] { "--max-body-size", "1Mi", "--dapr-http-max-request-size", "2" }, 2 * 1024 * 1024)]
    public void Sizes_bind_to_bytes(string[] args, int bytes) => Assert.Equal(bytes, Flags.Bind(args).MaxBodyBytes);

    [Theory]
    [InlineData("--max-body-size", "4MB")]
    [InlineData("--max-body-size", "-1")]
    [InlineData("--max-body-size", "0")]
    [InlineData("--max-body-size", "3Gi")]
    [InlineData("--max-body-size", "99999999999999999999")]
    [InlineData("--dapr-http-max-request-size", "x")]
    [InlineData("--app-job-timeout", "5s")]
    public void Unusable_sizes_are_refused_with_the_flag_named(string flag, string value)
    {
        var e = Assert.Throws<ArgumentException>(() => SidecarFlags.Normalise([flag, value]));
        Assert.StartsWith($"invalid value \"{value}\" for flag {flag}: ", e.Message);
    }
}

/// <summary>A job delivery that the app does not answer in time counts as failed.</summary>
public class AppJobTimeoutTests
{
    private sealed class HangingApp : IAppChannel
    {
        public int Calls;
        public async Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            await Task.Delay(Timeout.Infinite, ct);
            return true;
        }

        public Task<bool> ProbeHealthAsync(string path, CancellationToken ct) => Task.FromResult(true);
    }

    [Fact]
    public async Task A_delivery_unanswered_within_the_timeout_is_a_failure()
    {
        var time = new FakeTimeProvider();
        var app = new HangingApp();
        var channel = new TimedAppChannel(app, TimeSpan.FromSeconds(10), time, NullLogger.Instance);
        var delivery = channel.DeliverJobAsync(new JobTrigger("slow", null), CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(delivery.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await delivery.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, app.Calls);
    }

    [Fact]
    public async Task Shutting_down_is_not_mistaken_for_a_timeout()
    {
        var channel = new TimedAppChannel(new HangingApp(), TimeSpan.FromSeconds(10), new FakeTimeProvider(), NullLogger.Instance);
        using var stopping = new CancellationTokenSource();
        var delivery = channel.DeliverJobAsync(new JobTrigger("slow", null), stopping.Token);
        await stopping.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delivery.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}

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
