using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Grpc.Reflection.V1Alpha;
using static Platform.Sidecar.Tests.ErrorAsserts;

namespace Platform.Sidecar.Tests;

/// <summary>The gRPC runtime API against a real sidecar and a real scheduler, through the official generated DaprClient.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class GrpcJobsApiTests(SchedulerFixture fixture)
{
    private const string Prefix = "failed to schedule job due to: rpc error: code = Unknown desc = job failed validation: ";

    [Fact]
    public async Task Daprd_request_checks_answer_invalid_argument_with_error_info()
    {
        var appId = Sidecars.UniqueAppId("grpc-errors");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId);
        var client = sidecar.GrpcClient();

        var e1 = await Assert.ThrowsAsync<RpcException>(() => client.ScheduleJobAsync(new ScheduleJobRequest()).ResponseAsync);
        AssertDaprError(e1, StatusCode.InvalidArgument, "Job is empty", "DAPR_SCHEDULER_EMPTY", appId);
        var e2 = await Assert.ThrowsAsync<RpcException>(() => client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "" } }).ResponseAsync);
        AssertDaprError(e2, StatusCode.InvalidArgument, "Name is empty", "DAPR_SCHEDULER_JOB_NAME_EMPTY", appId);
        var e3 = await Assert.ThrowsAsync<RpcException>(() => client.ScheduleJobAlpha1Async(new ScheduleJobRequest { Job = new Job { Name = "test" } }).ResponseAsync);
        AssertDaprError(e3, StatusCode.InvalidArgument, "Schedule is empty", "DAPR_SCHEDULER_SCHEDULE_EMPTY", appId);
        var e4 = await Assert.ThrowsAsync<RpcException>(() => client.DeleteJobAsync(new DeleteJobRequest { Name = "" }).ResponseAsync);
        AssertDaprError(e4, StatusCode.InvalidArgument, "Name is empty", "DAPR_SCHEDULER_JOB_NAME_EMPTY", appId);
        var e5 = await Assert.ThrowsAsync<RpcException>(() => client.GetJobAsync(new GetJobRequest { Name = "" }).ResponseAsync);
        AssertDaprError(e5, StatusCode.InvalidArgument, "Name is empty", "DAPR_SCHEDULER_JOB_NAME_EMPTY", appId);
    }

    [Fact]
    public async Task Scheduler_rejections_are_wrapped_as_daprd_wraps_them()
    {
        var appId = Sidecars.UniqueAppId("grpc-sched-errors");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId);
        var client = sidecar.GrpcClient();

        // Case 17: duplicate without overwrite passes AlreadyExists through.
        await client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "dup", Schedule = "@daily" } });
        var dup = await Assert.ThrowsAsync<RpcException>(() => client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "dup", Schedule = "@weekly" } }).ResponseAsync);
        AssertDaprError(dup, StatusCode.AlreadyExists,
            $"failed to schedule job due to: rpc error: code = AlreadyExists desc = job already exists: 'app||default||{appId}||dup'",
            "DAPR_SCHEDULER_SCHEDULE_JOB", appId);
        await client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "dup", Schedule = "@weekly" }, Overwrite = true });
        Assert.Equal("@weekly", (await client.GetJobAsync(new GetJobRequest { Name = "dup" })).Job.Schedule);

        // Case 19 and 25: validation failures arrive as Unknown from the scheduler and leave daprd as Internal.
        var cases = new (Job Job, string Text)[]
        {
            (new Job { Name = "c19", Schedule = "* * * * *" }, "expected exactly 6 fields, found 5: [* * * * *]"),
            (new Job { Name = "c25a", DueTime = "1s", Repeats = 2 }, "job must have a schedule to repeat"),
            (new Job { Name = "c25b", DueTime = "1s", Ttl = "10s" }, "job must have a schedule to have a ttl"),
            (new Job { Name = "c25c", Schedule = "@daily", Repeats = 0 }, "defined repeats must be greater than 0"),
            (new Job { Name = "c25d", DueTime = "abc" }, "due time format not recognized"),
            (new Job { Name = "c25e", DueTime = "R2/PT1S" }, "repeats not supported for due time"),
            (new Job { Name = "c25f", Schedule = "@daily", Ttl = "abc" }, "ttl format not recognized"),
            // Absolute times: unambiguous whether a relative ttl counts from creation or from the due time.
            (new Job { Name = "c25g", Schedule = "@daily", DueTime = "2099-01-01T00:00:00Z", Ttl = "2098-01-01T00:00:00Z" }, "ttl must be greater than due time"),
        };
        var wrong = new List<string>();
        foreach (var (job, text) in cases)
        {
            try
            {
                await client.ScheduleJobAsync(new ScheduleJobRequest { Job = job });
                wrong.Add($"{job.Name}: accepted, expected '{text}'");
            }
            catch (RpcException ex)
            {
                if (ex.StatusCode != StatusCode.Internal || ex.Status.Detail != Prefix + text)
                    wrong.Add($"{job.Name}: {ex.StatusCode} '{ex.Status.Detail}', expected '{Prefix + text}'");
                else AssertDaprError(ex, StatusCode.Internal, Prefix + text, "DAPR_SCHEDULER_SCHEDULE_JOB", appId);
            }
        }
        Assert.True(wrong.Count == 0, string.Join(Environment.NewLine, wrong));

        // Get of a missing job is always Internal; delete of a missing job succeeds.
        var missing = await Assert.ThrowsAsync<RpcException>(() => client.GetJobAsync(new GetJobRequest { Name = "nothere" }).ResponseAsync);
        Assert.Equal(StatusCode.Internal, missing.StatusCode);
        Assert.StartsWith("failed to get job due to: rpc error: code = NotFound desc = ", missing.Status.Detail);
        AssertDaprError(missing, StatusCode.Internal, missing.Status.Detail, "DAPR_SCHEDULER_GET_JOB", appId);
        await client.DeleteJobAsync(new DeleteJobRequest { Name = "nothere" });
    }

    [Fact]
    public async Task Official_generated_client_schedules_gets_lists_and_deletes()
    {
        var appId = Sidecars.UniqueAppId("grpc-client");
        var otherAppId = Sidecars.UniqueAppId("grpc-client-other");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId);
        await using var other = await Sidecars.StartAsync(fixture, otherAppId);
        var client = sidecar.GrpcClient();

        Assert.Empty((await client.ListJobsAsync(new ListJobsRequest())).Jobs);
        var data = Any.Pack(new StringValue { Value = "hello" });
        await client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "abc-1", Schedule = "@daily", Repeats = 3, DueTime = "1000s", Ttl = "2000s", Data = data } });
        await client.ScheduleJobAlpha1Async(new ScheduleJobRequest { Job = new Job { Name = "abc-2", Schedule = "@daily",
            FailurePolicy = new JobFailurePolicy { Drop = new JobFailurePolicyDrop() } } });
        await client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "zzz", Schedule = "@daily",
            FailurePolicy = new JobFailurePolicy { Constant = new JobFailurePolicyConstant { Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(10)), MaxRetries = 1234 } } } });
        await other.GrpcClient().ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "abc-other", Schedule = "@daily" } });

        // Case 13/14: fields come back as submitted, with the default failure policy filled in.
        var got = (await client.GetJobAsync(new GetJobRequest { Name = "abc-1" })).Job;
        Assert.Equal("abc-1", got.Name);
        Assert.Equal("@daily", got.Schedule);
        Assert.Equal(3u, got.Repeats);
        Assert.Equal("1000s", got.DueTime);
        Assert.Equal("2000s", got.Ttl);
        Assert.Equal(data, got.Data);
        Assert.Equal(Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), got.FailurePolicy.Constant.Interval);
        Assert.Equal(3u, got.FailurePolicy.Constant.MaxRetries);
        var alpha = (await client.GetJobAlpha1Async(new GetJobRequest { Name = "abc-2" })).Job;
        Assert.False(alpha.HasRepeats);
        Assert.False(alpha.HasDueTime);
        Assert.NotNull(alpha.FailurePolicy.Drop);

        // Case 47: list is ordered by name and scoped to this app id.
        var listed = (await client.ListJobsAsync(new ListJobsRequest())).Jobs;
        Assert.Equal(["abc-1", "abc-2", "zzz"], listed.Select(j => j.Name));
        Assert.Equal(1234u, listed[2].FailurePolicy.Constant.MaxRetries);
        Assert.Equal(3, (await client.ListJobsAlpha1Async(new ListJobsRequestAlpha1())).Jobs.Count);

        // Case 48: prefix delete touches only this app's matching jobs; no prefix deletes the rest.
        await client.DeleteJobsByPrefixAsync(new DeleteJobsByPrefixRequest { NamePrefix = "abc-" });
        Assert.Equal(["zzz"], (await client.ListJobsAsync(new ListJobsRequest())).Jobs.Select(j => j.Name));
        Assert.Single((await other.GrpcClient().ListJobsAsync(new ListJobsRequest())).Jobs);
        await client.DeleteJobAlpha1Async(new DeleteJobRequest { Name = "zzz" });
        Assert.Empty((await client.ListJobsAsync(new ListJobsRequest())).Jobs);
        await client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "again", DueTime = "1h" } });
        await client.DeleteJobsByPrefixAlpha1Async(new DeleteJobsByPrefixRequestAlpha1());
        Assert.Empty((await client.ListJobsAsync(new ListJobsRequest())).Jobs);
        Assert.Single((await other.GrpcClient().ListJobsAsync(new ListJobsRequest())).Jobs);
    }

    [Fact]
    public async Task Reflection_lists_the_dapr_service_and_other_methods_are_unimplemented()
    {
        await using var sidecar = await Sidecars.StartAsync(fixture, Sidecars.UniqueAppId("grpc-reflection"), waitForStream: false);
        using var channel = GrpcChannel.ForAddress(sidecar.GrpcEndpoint);
        var reflection = new ServerReflection.ServerReflectionClient(channel);
        using var call = reflection.ServerReflectionInfo();
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { ListServices = "" });
        await call.RequestStream.WriteAsync(new ServerReflectionRequest { FileContainingSymbol = "dapr.proto.runtime.v1.Dapr" });
        await call.RequestStream.CompleteAsync();
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.Contains("dapr.proto.runtime.v1.Dapr", call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
        Assert.True(await call.ResponseStream.MoveNext(CancellationToken.None));
        Assert.NotEmpty(call.ResponseStream.Current.FileDescriptorResponse.FileDescriptorProto);

        // The .NET SDK's capability probe uses grpc.reflection.v1.
        var v1 = new Grpc.Reflection.V1.ServerReflection.ServerReflectionClient(channel);
        using (var v1Call = v1.ServerReflectionInfo())
        {
            await v1Call.RequestStream.WriteAsync(new Grpc.Reflection.V1.ServerReflectionRequest { ListServices = "" });
            await v1Call.RequestStream.CompleteAsync();
            Assert.True(await v1Call.ResponseStream.MoveNext(CancellationToken.None));
            Assert.Contains("dapr.proto.runtime.v1.Dapr", v1Call.ResponseStream.Current.ListServicesResponse.Service.Select(s => s.Name));
        }

        var client = sidecar.GrpcClient();
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.GetStateAsync(new GetStateRequest { StoreName = "s", Key = "k" }).ResponseAsync);
        Assert.Equal(StatusCode.Unimplemented, ex.StatusCode);

        var metadata = await client.GetMetadataAsync(new GetMetadataRequest());
        Assert.Equal(sidecar.AppId, metadata.Id);
    }

    [Fact]
    public async Task Metadata_lists_the_connected_scheduler_and_jobs_fail_without_one()
    {
        var appId = Sidecars.UniqueAppId("grpc-metadata");
        await using var sidecar = await Sidecars.StartAsync(fixture, appId);
        var metadata = await sidecar.GrpcClient().GetMetadataAsync(new GetMetadataRequest());
        Assert.Equal([fixture.Scheduler.HostAddress], metadata.Scheduler.ConnectedAddresses);
        using var http = sidecar.HttpClient();
        var json = System.Text.Json.JsonDocument.Parse(await http.GetStringAsync("/v1.0/metadata")).RootElement;
        Assert.Equal(appId, json.GetProperty("id").GetString());
        Assert.Equal(fixture.Scheduler.HostAddress, json.GetProperty("scheduler").GetProperty("connected_addresses")[0].GetString());

        // Case 51: no scheduler address ⇒ scheduling fails, other APIs still work.
        await using var lone = await TestSupport.SidecarProcess.StartAsync(new TestSupport.SidecarSettings(appId + "-lone"));
        var client = lone.GrpcClient();
        var ex = await Assert.ThrowsAsync<RpcException>(() => client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = "x", Schedule = "@daily" } }).ResponseAsync);
        AssertDaprError(ex, StatusCode.Internal, "failed to schedule job due to: scheduler clients are disabled", "DAPR_SCHEDULER_SCHEDULE_JOB");
        Assert.Equal(appId + "-lone", (await client.GetMetadataAsync(new GetMetadataRequest())).Id);
    }

    [Fact]
    public async Task A_configured_scheduler_replica_that_is_down_does_not_stall_calls()
    {
        var appId = Sidecars.UniqueAppId("grpc-two-hosts");
        var dead = $"127.0.0.1:{TestSupport.FreePort.Next()}";
        await using var sidecar = await TestSupport.SidecarProcess.StartAsync(new TestSupport.SidecarSettings(appId)
        {
            SchedulerHostAddress = $"{dead},{fixture.Scheduler.HostAddress}",
        });
        await sidecar.WaitForSchedulerStreamAsync();
        var client = sidecar.GrpcClient();
        Assert.Equal([fixture.Scheduler.HostAddress], (await client.GetMetadataAsync(new GetMetadataRequest())).Scheduler.ConnectedAddresses);
        // Every call must go to the live replica; one routed to the dead one would wait out its deadline.
        for (var i = 0; i < 6; i++)
            await client.ScheduleJobAsync(new ScheduleJobRequest { Job = new Job { Name = $"j{i}", Schedule = "@daily" } },
                deadline: DateTime.UtcNow.AddSeconds(10));
        Assert.Equal(6, (await client.ListJobsAsync(new ListJobsRequest(), deadline: DateTime.UtcNow.AddSeconds(10))).Jobs.Count);
    }
}
