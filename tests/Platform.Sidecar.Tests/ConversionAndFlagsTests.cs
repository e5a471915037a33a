using Google.Protobuf.WellKnownTypes;
using Platform.Sidecar.Api;
using Platform.Sidecar.Hosting;
using RuntimeJob = Dapr.Client.Autogen.Grpc.v1.Job;

namespace Platform.Sidecar.Tests;

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
