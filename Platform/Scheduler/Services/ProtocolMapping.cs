using Google.Protobuf.WellKnownTypes;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Common;

namespace Platform.Scheduler.Services;

internal static class ProtocolMapping
{
    /// <summary>The job as submitted, with the stored (default-filled) failure policy.</summary>
    public static Job ToProtocol(StoredJob stored)
    {
        var job = new Job { FailurePolicy = JobFailurePolicy.Parser.ParseFrom(stored.FailurePolicy) };
        if (stored.Schedule is not null) job.Schedule = stored.Schedule;
        if (stored.Repeats is { } r) job.Repeats = r;
        if (stored.DueTime is not null) job.DueTime = stored.DueTime;
        if (stored.Ttl is not null) job.Ttl = stored.Ttl;
        if (stored.Data is not null) job.Data = Any.Parser.ParseFrom(stored.Data);
        return job;
    }

    public static JobMetadata Metadata(string @namespace, string appId) => new()
    {
        Namespace = @namespace,
        AppId = appId,
        Target = new JobTargetMetadata { Job = new TargetJob() },
    };

    public static JobDefinition ToDefinition(Job? job, string? traceParent, string? traceState)
    {
        job ??= new Job();
        return new JobDefinition
        {
            Schedule = job.HasSchedule ? job.Schedule : null,
            Repeats = job.HasRepeats ? job.Repeats : null,
            DueTime = job.HasDueTime ? job.DueTime : null,
            Ttl = job.HasTtl ? job.Ttl : null,
            Data = job.Data,
            FailurePolicy = job.FailurePolicy,
            TraceParent = traceParent,
            TraceState = traceState,
        };
    }
}
