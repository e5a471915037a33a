using Platform.Security;

namespace Platform.Sidecar.AccessControl;

/// <summary>The sidecar's access control list for calls from other sidecars; <see cref="List"/> null = no policy (all allowed, as daprd).</summary>
public sealed class SidecarAccessControl(AccessControlList? list)
{
    public AccessControlList? List { get; } = list;

    /// <summary>The app's trust domain, as daprd takes it: the Configuration's accessControl.trustDomain, else Dapr's "public".</summary>
    public string TrustDomain => List?.TrustDomain ?? SpiffeId.DefaultTrustDomain;
}
