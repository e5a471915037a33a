namespace Platform.Jobs.Models;

/// <summary>Failed triggers are not retried.</summary>
public sealed record JobFailurePolicyDropOptions : IJobFailurePolicyOptions
{
    public JobFailurePolicy Policy => JobFailurePolicy.Drop;
}
