namespace Platform.Jobs.Models.Responses;

public interface IFailurePolicyResponse
{
    JobFailurePolicy Type { get; }
}
