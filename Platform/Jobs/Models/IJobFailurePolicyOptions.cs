namespace Platform.Jobs.Models;

public interface IJobFailurePolicyOptions
{
    JobFailurePolicy Policy { get; }
}
