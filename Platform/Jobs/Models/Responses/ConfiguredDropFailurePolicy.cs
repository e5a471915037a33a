namespace Platform.Jobs.Models.Responses;

public sealed record ConfiguredDropFailurePolicy : IFailurePolicyResponse
{
    public JobFailurePolicy Type => JobFailurePolicy.Drop;
}
