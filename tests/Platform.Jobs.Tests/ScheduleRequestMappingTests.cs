using System.Text;
using Platform.Jobs.Models;
using Proto = Dapr.Client.Autogen.Grpc.v1;

namespace Platform.Jobs.Tests;

public class ScheduleRequestMappingTests
{
    private static Proto.ScheduleJobRequest Build(DaprJobSchedule schedule, ReadOnlyMemory<byte>? payload = null, DateTimeOffset? start = null,
        int? repeats = null, DateTimeOffset? ttl = null, bool overwrite = false, IJobFailurePolicyOptions? policy = null) =>
        DaprJobsGrpcClient.BuildScheduleRequest("prod-db-backup", schedule, payload, start, repeats, ttl, overwrite, policy);

    [Fact]
    public void Recurring_schedule_sets_schedule_only()
    {
        var request = Build(DaprJobSchedule.FromExpression("@every 1m"), repeats: 10);
        Assert.Equal("prod-db-backup", request.Job.Name);
        Assert.True(request.Job.HasSchedule);
        Assert.Equal("@every 1m", request.Job.Schedule);
        Assert.False(request.Job.HasDueTime);
        Assert.True(request.Job.HasRepeats);
        Assert.Equal(10u, request.Job.Repeats);
        Assert.False(request.Job.HasTtl);
        Assert.Null(request.Job.Data);
        Assert.Null(request.Job.FailurePolicy);
        Assert.False(request.Overwrite);
    }

    [Fact]
    public void Absent_repeats_is_not_sent_as_zero()
    {
        // The runtime treats a present repeats=0 as an error, so "no limit" must leave the field absent.
        var request = Build(DaprJobSchedule.Daily);
        Assert.False(request.Job.HasRepeats);
    }

    [Fact]
    public void Point_in_time_schedule_becomes_due_time()
    {
        var when = new DateTimeOffset(2030, 1, 2, 3, 4, 5, TimeSpan.Zero);
        var request = Build(DaprJobSchedule.FromDateTime(when));
        Assert.False(request.Job.HasSchedule);
        Assert.Equal(when.ToString("O"), request.Job.DueTime);
    }

    [Fact]
    public void Unrecognised_expression_is_still_sent_so_the_runtime_can_say_why()
    {
        var request = Build(DaprJobSchedule.FromExpression("* * * * *"));
        Assert.Equal("* * * * *", request.Job.Schedule);
    }

    [Fact]
    public void StartingFrom_ttl_overwrite_and_payload_are_mapped()
    {
        var start = new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var payload = Encoding.UTF8.GetBytes("{\"task\":\"db-backup\"}");
        var request = Build(DaprJobSchedule.Hourly, payload, start, ttl: start.AddDays(1), overwrite: true);
        Assert.Equal("@hourly", request.Job.Schedule);
        Assert.Equal("2030-01-01T00:00:00.0000000+00:00", request.Job.DueTime);
        Assert.Equal("2030-01-02T00:00:00.0000000+00:00", request.Job.Ttl);
        Assert.True(request.Overwrite);
        Assert.Equal("dapr.io/schedule/jobpayload", request.Job.Data.TypeUrl);
        Assert.Equal(payload, request.Job.Data.Value.ToByteArray());
    }

    [Fact]
    public void Failure_policies_are_mapped()
    {
        var drop = Build(DaprJobSchedule.Hourly, policy: new JobFailurePolicyDropOptions());
        Assert.Equal(Proto.JobFailurePolicy.PolicyOneofCase.Drop, drop.Job.FailurePolicy.PolicyCase);

        var constant = Build(DaprJobSchedule.Hourly, policy: new JobFailurePolicyConstantOptions(TimeSpan.FromSeconds(5)) { MaxRetries = 7 });
        Assert.Equal(TimeSpan.FromSeconds(5), constant.Job.FailurePolicy.Constant.Interval.ToTimeSpan());
        Assert.True(constant.Job.FailurePolicy.Constant.HasMaxRetries);
        Assert.Equal(7u, constant.Job.FailurePolicy.Constant.MaxRetries);

        var forever = Build(DaprJobSchedule.Hourly, policy: new JobFailurePolicyConstantOptions(TimeSpan.FromSeconds(1)));
        Assert.False(forever.Job.FailurePolicy.Constant.HasMaxRetries);
    }

    [Fact]
    public void Bad_arguments_are_rejected_before_any_call()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => Build(DaprJobSchedule.Hourly, repeats: -1));
        var start = DateTimeOffset.UtcNow;
        Assert.Throws<ArgumentException>(() => Build(DaprJobSchedule.Hourly, start: start, ttl: start.AddSeconds(-1)));
        Assert.ThrowsAny<ArgumentException>(() => DaprJobsGrpcClient.BuildScheduleRequest(" ", DaprJobSchedule.Hourly, null, null, null, null, false, null));
        Assert.Throws<ArgumentNullException>(() => DaprJobsGrpcClient.BuildScheduleRequest("a", null!, null, null, null, null, false, null));
    }

    [Fact]
    public void Job_details_are_read_back()
    {
        var job = new Proto.Job
        {
            Name = "j", Schedule = "@every 5s", Repeats = 3, DueTime = "2030-01-01T00:00:00Z", Ttl = "2031-01-01T00:00:00Z",
            Data = new Google.Protobuf.WellKnownTypes.Any { TypeUrl = "dapr.io/schedule/jobpayload", Value = Google.Protobuf.ByteString.CopyFromUtf8("hi") },
            FailurePolicy = new Proto.JobFailurePolicy { Constant = new Proto.JobFailurePolicyConstant { Interval = Google.Protobuf.WellKnownTypes.Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), MaxRetries = 3 } },
        };
        var details = DaprJobsGrpcClient.ToDetails(job);
        Assert.Equal("j", details.Name);
        Assert.Equal("@every 5s", details.Schedule.ExpressionValue);
        Assert.Equal(3, details.RepeatCount);
        Assert.Equal(new DateTimeOffset(2030, 1, 1, 0, 0, 0, TimeSpan.Zero), details.DueTime);
        Assert.Equal(new DateTimeOffset(2031, 1, 1, 0, 0, 0, TimeSpan.Zero), details.Ttl);
        Assert.Equal("hi", Encoding.UTF8.GetString(details.Payload!));
        var policy = Assert.IsType<Models.Responses.ConfiguredConstantFailurePolicy>(details.FailurePolicy);
        Assert.Equal(new Models.Responses.ConfiguredConstantFailurePolicy(true, 3, TimeSpan.FromSeconds(1)), policy);

        var relative = DaprJobsGrpcClient.ToDetails(new Proto.Job { Name = "k", DueTime = "10s" });
        Assert.Equal("10s", relative.DueTimeExpression);
        Assert.Null(relative.DueTime);
        Assert.Null(relative.RepeatCount);
    }
}
