namespace Platform.Sidecar.AccessControl;

/// <summary>The sidecar's access control list for calls from other sidecars; <see cref="List"/> null = no policy (all allowed, as daprd).</summary>
public sealed class SidecarAccessControl(AccessControlList? list)
{
    public AccessControlList? List { get; } = list;
}
