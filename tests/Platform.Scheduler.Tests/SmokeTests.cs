namespace Platform.Scheduler.Tests;

public class SmokeTests
{
    [Fact]
    public void Scheduler_protocol_round_trips_a_job()
    {
        var job = new Platform.SchedulerProtocol.Job { Schedule = "@every 1s", Repeats = 2 };
        var back = Platform.SchedulerProtocol.Job.Parser.ParseFrom(Google.Protobuf.MessageExtensions.ToByteArray(job));
        Assert.True(back.HasRepeats);
        Assert.Equal("@every 1s", back.Schedule);
        Assert.False(back.HasDueTime);
    }
}
