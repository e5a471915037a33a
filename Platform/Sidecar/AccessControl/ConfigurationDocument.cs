namespace Platform.Sidecar.AccessControl;

/// <summary>
/// The parts of a Dapr <c>Configuration</c> (apiVersion dapr.io/v1alpha1, kind Configuration) the sidecar reads:
/// <c>spec.accessControl</c>. Other spec sections (tracing, features, …) are accepted and ignored, as a daprd that
/// lacks a feature ignores its section.
/// </summary>
public sealed class ConfigurationDocument
{
    public string? ApiVersion { get; set; }
    public string? Kind { get; set; }
    public ConfigurationSpec? Spec { get; set; }
}
