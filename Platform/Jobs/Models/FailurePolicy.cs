namespace Platform.Jobs.Models;

/// <summary>What the scheduler does when a trigger fails.</summary>
public enum JobFailurePolicy
{
    /// <summary>Give up on that trigger.</summary>
    Drop,
    /// <summary>Retry at a constant interval, up to an optional maximum.</summary>
    Constant,
}

public interface IJobFailurePolicyOptions
{
    JobFailurePolicy Policy { get; }
}

/// <summary>Failed triggers are not retried.</summary>
public sealed record JobFailurePolicyDropOptions : IJobFailurePolicyOptions
{
    public JobFailurePolicy Policy => JobFailurePolicy.Drop;
}

/// <summary>Failed triggers are retried every <paramref name="Interval"/>; <see cref="MaxRetries"/> null means without limit.</summary>
public sealed record JobFailurePolicyConstantOptions(TimeSpan Interval) : IJobFailurePolicyOptions
{
    public JobFailurePolicy Policy => JobFailurePolicy.Constant;

    public uint? MaxRetries { get; init; }
}
