using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>One trigger sent to a consumer stream; answer it with <see cref="JobStream.Ack"/> and its <see cref="Id"/>.</summary>
public sealed class JobTrigger
{
    public required ulong Id { get; init; }
    public required JobKey Key { get; init; }
    /// <summary>Serialized google.protobuf.Any, or null when the job has no data.</summary>
    public byte[]? Data { get; init; }
    /// <summary>The tick this trigger is for (retries of a tick share it).</summary>
    public required DateTimeOffset ScheduledTime { get; init; }
    /// <summary>When the engine meant to send it (tick + retries × interval).</summary>
    public required DateTimeOffset DueTime { get; init; }
    /// <summary>0 for the first delivery of a tick, k for its k-th retry.</summary>
    public uint Attempt { get; init; }
    public string? TraceParent { get; init; }
    public string? TraceState { get; init; }
}
