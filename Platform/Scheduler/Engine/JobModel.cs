using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;
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

/// <summary>How a delivered trigger ended.</summary>
public enum TriggerOutcome
{
    Success,
    Failed,
    /// <summary>No consumer took it (no stream, or the stream broke): staged, not counted.</summary>
    Undeliverable,
}

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

/// <summary>The failure policy in the compact form the engine keeps per job.</summary>
internal readonly record struct RetryPolicy(bool Drop, long IntervalTicks, int MaxRetries)
{
    public static JobFailurePolicy Default() => new()
    {
        Constant = new JobFailurePolicyConstant { Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(1)), MaxRetries = 3 },
    };

    public static JobFailurePolicy Normalize(JobFailurePolicy? policy) =>
        policy is null || policy.PolicyCase == JobFailurePolicy.PolicyOneofCase.None ? Default() : policy;

    /// <summary>
    /// Refuses a policy the engine could not apply: a constant interval that is not a valid protobuf Duration
    /// (non-normalised, out of range) or is negative. Throws <see cref="JobArgumentException"/>.
    /// </summary>
    public static void Validate(JobFailurePolicy? policy)
    {
        if (CheckInterval(policy) is { } reason) throw new JobArgumentException("job failed validation: invalid failure policy interval: " + reason);
    }

    private static string? CheckInterval(JobFailurePolicy? policy)
    {
        if (policy?.PolicyCase != JobFailurePolicy.PolicyOneofCase.Constant || policy.Constant.Interval is not { } interval) return null;
        if (ProtobufTimeValidator.CheckDuration(interval.Seconds, interval.Nanos) is { } invalid) return invalid;
        if (interval.Seconds < 0 || interval.Nanos < 0) return $"duration ({ProtobufTimeValidator.Text(interval.Seconds, interval.Nanos)}) is negative";
        return null;
    }

    /// <summary>The stored policy in compact form; throws <see cref="InvalidDataException"/> for one that could not have been accepted.</summary>
    public static RetryPolicy From(byte[] serialized) =>
        serialized.AsSpan().SequenceEqual(DefaultRetryPolicy.Serialized) ? DefaultRetryPolicy.Compact : Parse(serialized);

    /// <summary><see cref="From"/> without recognising the default policy's bytes.</summary>
    internal static RetryPolicy Parse(byte[] serialized)
    {
        var policy = JobFailurePolicy.Parser.ParseFrom(serialized);
        if (CheckInterval(policy) is { } reason) throw new InvalidDataException("invalid failure policy interval: " + reason);
        return policy.PolicyCase switch
        {
            JobFailurePolicy.PolicyOneofCase.Drop => new RetryPolicy(true, 0, 0),
            JobFailurePolicy.PolicyOneofCase.Constant => new RetryPolicy(false,
                Math.Max(0, policy.Constant.Interval?.ToTimeSpan().Ticks ?? 0),
                policy.Constant.HasMaxRetries ? (int)Math.Min(policy.Constant.MaxRetries, int.MaxValue) : -1),
            _ => new RetryPolicy(false, TimeSpan.TicksPerSecond, 3),
        };
    }

    /// <summary>After <paramref name="failedAttempts"/> failures of a tick, is another delivery due?</summary>
    public bool ShouldRetry(uint failedAttempts) => !Drop && (MaxRetries < 0 || failedAttempts <= (uint)MaxRetries);
}

/// <summary>
/// The engine's in-memory record of one owned job: kept small (1M of them must fit well under 1 GB), with the
/// data as serialized bytes and the schedule object shared between jobs of the same spec.
/// </summary>
internal sealed class JobState
{
    public required JobKey Key;
    public long RowId;
    public ulong PartitionId;
    /// <summary>The store's version of the definition this state was built from (see <see cref="StoredJob.Revision"/>).</summary>
    public long Revision;
    public ISchedule? Schedule;
    public uint Repeats;
    public long Created;
    public long Due;
    public long Expiration;
    public RetryPolicy Policy;
    public byte[]? Data;
    public string? TraceParent;
    public string? TraceState;

    public uint Count;
    public long LastTrigger;
    public uint Attempts;
    public JobResultKind LastResult;

    /// <summary>Scheduled time of the tick being worked on; None when done.</summary>
    public long CurrentTick = TickCalculator.None;
    /// <summary>When the current attempt is due (tick + attempts × interval), as queued.</summary>
    public long FireAt;
    /// <summary>Bumped on every enqueue, so stale queue entries are recognised.</summary>
    public int QueueToken;
    /// <summary>Bumped on every dispatch, so a result for an older dispatch is ignored.</summary>
    public long DispatchSeq;
    public bool InFlight;
    public bool Staged;
    public bool Removed;
    /// <summary>Why the engine set this job aside (installing, loading or firing it failed); null when healthy.
    /// A quarantined job stays listed but is never dispatched, until it is overwritten or deleted.</summary>
    public string? Quarantine;

    public JobProgress Progress => new(Count, LastTrigger, Attempts, LastResult);

    public long NextTick() => TickCalculator.Next(Schedule, Repeats, Created, Due, Expiration, Count, LastTrigger);
}
