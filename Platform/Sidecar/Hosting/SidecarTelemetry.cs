using System.Diagnostics;

namespace Platform.Sidecar.Hosting;

/// <summary>
/// The sidecar's own spans (ActivitySource "Platform.Sidecar"), apart from its metrics: a span is started where work
/// happens (a trigger's delivery), with no meter factory at hand, so the source is static as ActivitySources are meant to be.
/// </summary>
public static class SidecarTelemetry
{
    public const string Name = "Platform.Sidecar";
    public static readonly ActivitySource ActivitySource = new(Name);
}
