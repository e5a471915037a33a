using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>Marks an app with its sidecar (the toolkit's annotation).</summary>
public sealed record DaprSidecarAnnotation(IDaprSidecarResource Sidecar) : IResourceAnnotation;
