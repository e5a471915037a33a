using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>The real process over gRPC: statuses and texts as Dapr's scheduler gives them.</summary>
public class GrpcApiTests
{
    [Fact]
    public async Task Schedule_get_list_delete_round_trip_with_dapr_statuses()
    {
        await using var s = await StartAsync();
        var data = Any.Pack(new StringValue { Value = "hello world" });
        await s.Client.ScheduleJobAsync(new ScheduleJobRequest
        {
            Name = "test",
            Metadata = Meta(),
            Job = new Job { Schedule = "@every 1m", Repeats = 123, DueTime = "1000s", Ttl = "123s", Data = data },
        });

        var got = (await s.Client.GetJobAsync(new GetJobRequest { Name = "test", Metadata = Meta() })).Job;
        Assert.Equal("@every 1m", got.Schedule);
        Assert.Equal(123u, got.Repeats);
        Assert.Equal("1000s", got.DueTime);
        Assert.Equal("123s", got.Ttl);
        Assert.Equal(data.ToByteString(), got.Data.ToByteString());
        Assert.Equal(TimeSpan.FromSeconds(1), got.FailurePolicy.Constant.Interval.ToTimeSpan());
        Assert.Equal(3u, got.FailurePolicy.Constant.MaxRetries);

        var exists = await Assert.ThrowsAsync<RpcException>(() => s.ScheduleAsync("test", schedule: "@daily"));
        Assert.Equal(StatusCode.AlreadyExists, exists.StatusCode);
        Assert.Equal("job already exists: 'app||default||app1||test'", exists.Status.Detail);

        await s.ScheduleAsync("test", schedule: "@weekly", repeats: 3, overwrite: true);
        Assert.Equal("@weekly", (await s.Client.GetJobAsync(new GetJobRequest { Name = "test", Metadata = Meta() })).Job.Schedule);

        var list = await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() });
        Assert.Equal(["test"], list.Jobs.Select(j => j.Name));

        await s.Client.DeleteJobAsync(new DeleteJobRequest { Name = "test", Metadata = Meta() });
        await s.Client.DeleteJobAsync(new DeleteJobRequest { Name = "test", Metadata = Meta() });   // missing: still OK
        var notFound = await Assert.ThrowsAsync<RpcException>(() => s.Client.GetJobAsync(new GetJobRequest { Name = "test", Metadata = Meta() }).ResponseAsync);
        Assert.Equal(StatusCode.NotFound, notFound.StatusCode);
        Assert.Equal("job not found: test", notFound.Status.Detail);
    }

    [Fact]
    public async Task Bad_names_and_missing_scope_are_rejected()
    {
        await using var s = await StartAsync();
        foreach (var name in new[] { "bad/name", "bad\\name", "bad#name", "bad?name", "bad\0name", "bad\nname", new string('a', 600) })
        {
            var e = await Assert.ThrowsAsync<RpcException>(() => s.ScheduleAsync(name, schedule: "@daily"));
            Assert.Equal(StatusCode.Unknown, e.StatusCode);
        }
        await s.ScheduleAsync("my||job@name", schedule: "@daily");
        Assert.Equal("my||job@name", (await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs.Single().Name);

        var missing = await Assert.ThrowsAsync<RpcException>(() =>
            s.Client.ScheduleJobAsync(new ScheduleJobRequest { Name = "x", Job = new Job { Schedule = "@daily" }, Metadata = new JobMetadata { AppId = "a" } }).ResponseAsync);
        Assert.Equal(StatusCode.InvalidArgument, missing.StatusCode);
        Assert.Equal("missing namespace or appID in request", missing.Status.Detail);
    }

    [Fact]
    public async Task List_and_prefix_delete_are_scoped_to_the_calling_app()
    {
        await using var s = await StartAsync();
        Assert.Empty((await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs);
        await s.ScheduleAsync("test", schedule: "@daily");
        await s.ScheduleAsync("test2", schedule: "@daily");
        await s.ScheduleAsync("abc-1", schedule: "@daily");
        await s.ScheduleAsync("abc-2", schedule: "@daily");
        await s.ScheduleAsync("abc-1", schedule: "@daily", app: "other");
        Assert.Equal(4, (await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs.Count);

        await s.Client.DeleteByNamePrefixAsync(new DeleteByNamePrefixRequest { NamePrefix = "abc-", Metadata = Meta() });
        Assert.Equal(["test", "test2"], (await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs.Select(j => j.Name));
        await s.Client.DeleteJobAsync(new DeleteJobRequest { Name = "test", Metadata = Meta() });
        Assert.Single((await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs);

        await s.Client.DeleteByNamePrefixAsync(new DeleteByNamePrefixRequest { Metadata = Meta() });
        Assert.Empty((await s.Client.ListJobsAsync(new ListJobsRequest { Metadata = Meta() })).Jobs);
        Assert.Single((await s.ClientFor("other").ListJobsAsync(new ListJobsRequest { Metadata = Meta("other") })).Jobs);

        var bad = await Assert.ThrowsAsync<RpcException>(() =>
            s.Client.DeleteByNamePrefixAsync(new DeleteByNamePrefixRequest { NamePrefix = "a/", Metadata = Meta() }).ResponseAsync);
        Assert.Equal(StatusCode.Unknown, bad.StatusCode);
    }

    [Fact]
    public async Task Watch_hosts_returns_this_replicas_address()
    {
        await using var s = await StartAsync();
        using var call = s.Client.WatchHosts(new WatchHostsRequest());
        Assert.True(await call.ResponseStream.MoveNext().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(s.Process.HostAddress, call.ResponseStream.Current.Hosts.Single().Address);
    }

    [Fact]
    public async Task Admin_lists_progress_and_next_due()
    {
        await using var s = await StartAsync();
        await s.ScheduleAsync("daily", schedule: "@daily", repeats: 4);
        var admin = s.Admin;
        var status = (await admin.ListJobStatusesAsync(new ListJobStatusesRequest { AppId = "app1" })).Jobs.Single();
        Assert.Equal("daily", status.Name);
        Assert.Equal("app1", status.Metadata.AppId);
        Assert.Equal(0u, status.Count);
        Assert.Equal(4u, status.RepeatsLeft);
        var next = status.NextDue.ToDateTime();
        Assert.Equal(TimeSpan.Zero, next.TimeOfDay);
        Assert.InRange(next - DateTime.UtcNow, TimeSpan.Zero, TimeSpan.FromDays(1));
        Assert.Empty((await admin.ListJobStatusesAsync(new ListJobStatusesRequest { AppId = "nobody" })).Jobs);
    }

    [Fact]
    public async Task Watch_jobs_first_message_must_be_initial()
    {
        await using var s = await StartAsync();
        using var call = s.Client.WatchJobs();
        await call.RequestStream.WriteAsync(new WatchJobsRequest { Result = new WatchJobsRequestResult { Id = 1 } });
        var e = await Assert.ThrowsAsync<RpcException>(() => call.ResponseStream.MoveNext().WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(StatusCode.InvalidArgument, e.StatusCode);
    }
}
