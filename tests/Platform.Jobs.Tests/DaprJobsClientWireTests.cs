using System.Diagnostics;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Platform.Jobs.Extensions;
using Platform.Jobs.Models;
using Proto = Dapr.Client.Autogen.Grpc.v1;

namespace Platform.Jobs.Tests;

/// <summary>The real client against a loopback gRPC endpoint: what it puts on the wire, and how it reads errors.</summary>
public class DaprJobsClientWireTests : IAsyncLifetime
{
    private FakeSidecarGrpc _sidecar = null!;

    public async Task InitializeAsync() => _sidecar = await FakeSidecarGrpc.StartAsync();

    public async Task DisposeAsync() => await _sidecar.DisposeAsync();

    private DaprJobsClient CreateClient(string? token = "s3cret") =>
        new DaprJobsClientBuilder().UseGrpcEndpoint(_sidecar.Endpoint).UseDaprApiToken(token).UseTimeout(TimeSpan.FromSeconds(20)).Build();

    [Fact]
    public async Task Schedule_calls_the_stable_rpc_with_token_user_agent_and_trace_context()
    {
        _sidecar.Reply("ScheduleJob", new Proto.ScheduleJobResponse());
        using var client = CreateClient();
        using var listener = new ActivityListener { ShouldListenTo = _ => true, Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded };
        ActivitySource.AddActivityListener(listener);
        using var source = new ActivitySource("test");
        using var parent = source.StartActivity("caller")!;

        await client.ScheduleJobWithPayloadAsync("prod-db-backup", DaprJobSchedule.FromExpression("@every 1m"),
            new { task = "db-backup" }, repeats: 10);

        var call = Assert.Single(_sidecar.Calls);
        Assert.Equal("ScheduleJob", call.Method);
        Assert.Equal("s3cret", call.Headers["dapr-api-token"]);
        Assert.Contains("platform-jobs-dotnet/v", call.Headers["user-agent"]);
        Assert.Contains(parent.TraceId.ToString(), call.Headers["traceparent"]);
        var request = Proto.ScheduleJobRequest.Parser.ParseFrom(call.Request);
        Assert.Equal("prod-db-backup", request.Job.Name);
        Assert.Equal("@every 1m", request.Job.Schedule);
        Assert.Equal(10u, request.Job.Repeats);
        Assert.Equal("dapr.io/schedule/jobpayload", request.Job.Data.TypeUrl);
        Assert.Equal("{\"task\":\"db-backup\"}", request.Job.Data.Value.ToStringUtf8());
    }

    [Fact]
    public async Task No_token_header_without_a_token()
    {
        _sidecar.Reply("DeleteJob", new Proto.DeleteJobResponse());
        using var client = CreateClient(token: null);
        await client.DeleteJobAsync("x");
        Assert.False(Assert.Single(_sidecar.Calls).Headers.ContainsKey("dapr-api-token"));
    }

    [Fact]
    public async Task Falls_back_to_alpha1_when_the_runtime_lacks_stable_rpcs_and_remembers()
    {
        _sidecar.Reply("ScheduleJobAlpha1", new Proto.ScheduleJobResponse());
        _sidecar.Reply("GetJobAlpha1", new Proto.GetJobResponse { Job = new Proto.Job { Name = "a", Schedule = "@daily" } });
        using var client = CreateClient();

        await client.ScheduleJobAsync("a", DaprJobSchedule.Daily);
        var job = await client.GetJobAsync("a");

        Assert.Equal("@daily", job.Schedule.ExpressionValue);
        Assert.Equal(["ScheduleJob", "ScheduleJobAlpha1", "GetJobAlpha1"], _sidecar.Calls.Select(c => c.Method));
    }

    [Fact]
    public async Task Runtime_errors_keep_status_and_message()
    {
        const string detail = "failed to schedule job due to: rpc error: code = Unknown desc = job failed validation: expected exactly 6 fields, found 5: [* * * * *]";
        _sidecar.Fail("ScheduleJob", StatusCode.Internal, detail);
        using var client = CreateClient();

        var error = await Assert.ThrowsAsync<DaprJobsException>(() => client.ScheduleJobAsync("a", DaprJobSchedule.FromExpression("* * * * *")));

        Assert.Equal("Schedule job operation failed: the Dapr endpoint indicated a failure. See InnerException for details.", error.Message);
        Assert.Equal(StatusCode.Internal, error.StatusCode);
        Assert.Equal(detail, error.Detail);
        Assert.IsType<RpcException>(error.InnerException);
        Assert.False(error.IsAlreadyExists);
    }

    [Fact]
    public async Task Already_exists_and_not_found_are_recognisable()
    {
        _sidecar.Fail("ScheduleJob", StatusCode.AlreadyExists, "failed to schedule job due to: rpc error: code = AlreadyExists desc = job already exists: 'app||default||backupworker||a'");
        _sidecar.Fail("GetJob", StatusCode.Internal, "failed to get job due to: rpc error: code = NotFound desc = job not found: a");
        using var client = CreateClient();

        var exists = await Assert.ThrowsAsync<DaprJobsException>(() => client.ScheduleJobAsync("a", DaprJobSchedule.Daily));
        var missing = await Assert.ThrowsAsync<DaprJobsException>(() => client.GetJobAsync("a"));

        Assert.True(exists.IsAlreadyExists);
        Assert.True(missing.IsJobNotFound);
        Assert.StartsWith("Get job operation failed", missing.Message);
    }

    [Fact]
    public async Task Calls_are_counted_by_operation_and_status()
    {
        _sidecar.Reply("DeleteJob", new Proto.DeleteJobResponse());
        _sidecar.Fail("GetJob", StatusCode.Internal, "failed to get job due to: boom");
        var seen = new System.Collections.Concurrent.ConcurrentBag<string>();
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Platform.Jobs") l.EnableMeasurementEvents(instrument);
        };
        listener.SetMeasurementEventCallback<long>((_, _, tags, _) =>
        {
            var t = tags.ToArray().ToDictionary(x => x.Key, x => x.Value?.ToString());
            seen.Add($"{t["operation"]}={t["rpc.grpc.status"]}");
        });
        listener.Start();
        using var client = CreateClient();

        await client.DeleteJobAsync("uniquely-counted");
        await Assert.ThrowsAsync<DaprJobsException>(() => client.GetJobAsync("uniquely-counted"));

        Assert.Contains("Delete job=OK", seen);
        Assert.Contains("Get job=Internal", seen);
    }

    [Fact]
    public async Task Unreachable_sidecar_is_a_jobs_exception()
    {
        await _sidecar.DisposeAsync();
        using var client = CreateClient();
        var error = await Assert.ThrowsAsync<DaprJobsException>(() => client.GetJobAsync("a"));
        Assert.Equal(StatusCode.Unavailable, error.StatusCode);
        _sidecar = await FakeSidecarGrpc.StartAsync();
    }

    [Fact]
    public async Task Caller_cancellation_is_reported_not_swallowed()
    {
        using var client = CreateClient();
        using var cts = new CancellationTokenSource();
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => client.ScheduleJobAsync("a", DaprJobSchedule.Daily, cancellationToken: cts.Token));
    }

    [Fact]
    public async Task ListJobs_returns_named_jobs()
    {
        var response = new Proto.ListJobsResponse();
        response.Jobs.Add(new Proto.Job { Name = "a", Schedule = "@every 1m", Repeats = 10, Data = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = "dapr.io/schedule/jobpayload", Value = Google.Protobuf.ByteString.CopyFromUtf8("{}") } });
        response.Jobs.Add(new Proto.Job { Name = "b", DueTime = "2030-01-01T00:00:00Z" });
        _sidecar.Reply("ListJobs", response);
        using var client = CreateClient();

        var jobs = await client.ListJobsAsync();

        Assert.Equal(["a", "b"], jobs.Select(j => j.Name));
        Assert.Equal("{}", Encoding.UTF8.GetString(jobs[0].Payload!));
        Assert.True(jobs[1].Schedule.IsPointInTimeExpression);
    }

    [Fact]
    public async Task AddDaprJobsClient_finds_the_sidecar_through_configuration()
    {
        _sidecar.Reply("DeleteJob", new Proto.DeleteJobResponse());
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["DAPR_GRPC_ENDPOINT"] = _sidecar.Endpoint,
            ["DAPR_API_TOKEN"] = "from-config",
        }).Build();
        var services = new ServiceCollection().AddSingleton<IConfiguration>(configuration);
        services.AddDaprJobsClient();
        await using var provider = services.BuildServiceProvider();

        await provider.GetRequiredService<DaprJobsClient>().DeleteJobAsync("gone");

        Assert.Equal("from-config", Assert.Single(_sidecar.Calls).Headers["dapr-api-token"]);
    }

    [Fact]
    public void Endpoint_falls_back_to_port_then_default()
    {
        var byPort = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["DAPR_GRPC_PORT"] = "50123" }).Build();
        Assert.Equal("http://localhost:50123", new DaprJobsClientBuilder(byPort).GrpcEndpoint);
        var byEndpoint = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["DAPR_GRPC_ENDPOINT"] = "http://127.0.0.1:7", ["DAPR_GRPC_PORT"] = "50123" }).Build();
        Assert.Equal("http://127.0.0.1:7", new DaprJobsClientBuilder(byEndpoint).GrpcEndpoint);
        if (Environment.GetEnvironmentVariable("DAPR_GRPC_ENDPOINT") is null && Environment.GetEnvironmentVariable("DAPR_GRPC_PORT") is null)
            Assert.Equal("http://localhost:50001", new DaprJobsClientBuilder(new ConfigurationBuilder().Build()).GrpcEndpoint);
        Assert.Throws<InvalidOperationException>(() => new DaprJobsClientBuilder().UseGrpcEndpoint("tcp://x:1").Build());
    }
}
