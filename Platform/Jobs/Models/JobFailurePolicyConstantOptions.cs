namespace Platform.Jobs.Models;

/// <summary>Failed triggers are retried every <paramref name="Interval"/>; <see cref="MaxRetries"/> null means without limit.</summary>
public sealed record JobFailurePolicyConstantOptions(TimeSpan Interval) : IJobFailurePolicyOptions
{
    public JobFailurePolicy Policy => JobFailurePolicy.Constant;

    public uint? MaxRetries { get; init; }
}
