using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Platform.Scheduler.Schedules;
using Platform.SchedulerProtocol.Common;

namespace Platform.Scheduler.Engine;

/// <summary>
/// The failure policy in the compact form the engine keeps. Immutable and compared by value, so jobs with the same policy
/// share one instance (see <see cref="JobPreparer"/>): a reference costs each of 1M records 8 bytes where the values
/// cost 16.
/// </summary>
internal sealed record RetryPolicy(bool Drop, long IntervalTicks, int MaxRetries)
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
