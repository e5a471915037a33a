using Google.Protobuf;
using RuntimeJob = Dapr.Client.Autogen.Grpc.v1.Job;
using RuntimeFailurePolicy = Dapr.Client.Autogen.Grpc.v1.JobFailurePolicy;
using SchedulerJob = Platform.SchedulerProtocol.Job;
using SchedulerFailurePolicy = Platform.SchedulerProtocol.Common.JobFailurePolicy;

namespace Platform.Sidecar.Api;

/// <summary>
/// Runtime API Job (Dapr.Protos) ⇄ scheduler Job. The two messages number their fields differently, so fields are
/// copied one by one, keeping presence; the failure policy messages are identical on the wire and go via bytes.
/// </summary>
public static class JobConversion
{
    public static SchedulerJob ToScheduler(RuntimeJob job)
    {
        var s = new SchedulerJob();
        if (job.HasSchedule) s.Schedule = job.Schedule;
        if (job.HasRepeats) s.Repeats = job.Repeats;
        if (job.HasDueTime) s.DueTime = job.DueTime;
        if (job.HasTtl) s.Ttl = job.Ttl;
        if (job.Data is not null) s.Data = job.Data.Clone();
        if (job.FailurePolicy is not null) s.FailurePolicy = SchedulerFailurePolicy.Parser.ParseFrom(job.FailurePolicy.ToByteString());
        return s;
    }

    public static RuntimeJob ToRuntime(string name, SchedulerJob job)
    {
        var r = new RuntimeJob { Name = name };
        if (job.HasSchedule) r.Schedule = job.Schedule;
        if (job.HasRepeats) r.Repeats = job.Repeats;
        if (job.HasDueTime) r.DueTime = job.DueTime;
        if (job.HasTtl) r.Ttl = job.Ttl;
        if (job.Data is not null) r.Data = job.Data.Clone();
        if (job.FailurePolicy is not null) r.FailurePolicy = RuntimeFailurePolicy.Parser.ParseFrom(job.FailurePolicy.ToByteString());
        return r;
    }
}
