using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>A Dapr sidecar (the toolkit's interface).</summary>
public interface IDaprSidecarResource : IResource, IResourceWithWaitSupport;
