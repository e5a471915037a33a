using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Common;

namespace Platform.Scheduler.Services;

internal static class ProtocolMapping
{
    /// <summary>The job as submitted, with the stored (default-filled) failure policy.</summary>
    /// <remarks>A damaged stored blob (policy, data) is left out rather than failing the whole answer.</remarks>
    public static Job ToProtocol(StoredJob stored)
    {
        var job = new Job();
        if (TryParse(JobFailurePolicy.Parser, stored.FailurePolicy) is { } policy) job.FailurePolicy = policy;
        if (stored.Schedule is not null) job.Schedule = stored.Schedule;
        if (stored.Repeats is { } r) job.Repeats = r;
        if (stored.DueTime is not null) job.DueTime = stored.DueTime;
        if (stored.Ttl is not null) job.Ttl = stored.Ttl;
        if (stored.Data is not null && TryParse(Any.Parser, stored.Data) is { } data) job.Data = data;
        return job;
    }

    private static T? TryParse<T>(MessageParser<T> parser, byte[] bytes) where T : class, IMessage<T>
    {
        try { return parser.ParseFrom(bytes); }
        catch (InvalidProtocolBufferException) { return null; }
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
