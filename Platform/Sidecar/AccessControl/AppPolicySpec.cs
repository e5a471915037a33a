namespace Platform.Sidecar.AccessControl;

/// <summary>One caller's policy: <c>appId</c>, <c>namespace</c>, <c>trustDomain</c>, <c>defaultAction</c>, <c>operations</c>.</summary>
public sealed class AppPolicySpec
{
    public string? AppId { get; set; }
    public string? DefaultAction { get; set; }
    public string? TrustDomain { get; set; }
    public string? Namespace { get; set; }
    public List<AppOperationSpec>? Operations { get; set; }
}
