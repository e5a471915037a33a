using Google.Protobuf.WellKnownTypes;
using Platform.SchedulerProtocol.Common;

namespace Platform.Scheduler.Engine;

/// <summary>A job as a caller submits it to the engine (the strings verbatim; presence matters).</summary>
public sealed record JobDefinition
{
    public string? Schedule { get; init; }
    public uint? Repeats { get; init; }
    public string? DueTime { get; init; }
    public string? Ttl { get; init; }
    public Any? Data { get; init; }
    /// <summary>Null or an empty oneof means Dapr's default, constant 1 s × 3 retries.</summary>
    public JobFailurePolicy? FailurePolicy { get; init; }
    /// <summary>W3C trace context of the scheduling request; trigger spans link to it.</summary>
    public string? TraceParent { get; init; }
    public string? TraceState { get; init; }
}
