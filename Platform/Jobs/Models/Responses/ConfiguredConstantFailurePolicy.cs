namespace Platform.Jobs.Models.Responses;

public sealed record ConfiguredConstantFailurePolicy(bool HasMaxRetries, int? MaxRetries, TimeSpan Duration) : IFailurePolicyResponse
{
    public JobFailurePolicy Type => JobFailurePolicy.Constant;
}
