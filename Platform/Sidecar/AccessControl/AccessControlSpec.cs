namespace Platform.Sidecar.AccessControl;

/// <summary><c>spec.accessControl</c>, with Dapr's field names.</summary>
public sealed class AccessControlSpec
{
    public string? DefaultAction { get; set; }
    public string? TrustDomain { get; set; }
    /// <summary>Null when the key is absent, empty for <c>policies: []</c>: Dapr tells them apart (see <see cref="AccessControlList.Parse"/>).</summary>
    public List<AppPolicySpec>? Policies { get; set; }
}
