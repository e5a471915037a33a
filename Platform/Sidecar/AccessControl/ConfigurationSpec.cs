namespace Platform.Sidecar.AccessControl;

/// <summary><c>spec</c> of a Dapr Configuration: only <c>accessControl</c> is read.</summary>
public sealed class ConfigurationSpec
{
    public AccessControlSpec? AccessControl { get; set; }
}
