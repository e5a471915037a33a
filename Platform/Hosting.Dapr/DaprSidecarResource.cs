using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>
/// The <c>&lt;app&gt;-dapr</c> sidecar: one process beside its app, nested under it in the dashboard. Where the toolkit
/// models a hidden sidecar plus a <c>&lt;app&gt;-dapr-cli</c> executable running <c>dapr run</c>, ours is the process itself.
/// </summary>
public sealed class DaprSidecarResource(string name, string command, string workingDirectory, IResource app)
    : ExecutableResource(name, command, workingDirectory), IDaprSidecarResource
{
    public const string HttpEndpointName = "http";
    public const string GrpcEndpointName = "grpc";
    public const string MetricsEndpointName = "metrics";

    /// <summary>The app this sidecar serves.</summary>
    public IResource App { get; } = app;

    public EndpointReference HttpEndpoint => new(this, HttpEndpointName);

    public EndpointReference GrpcEndpoint => new(this, GrpcEndpointName);

    public EndpointReference MetricsEndpoint => new(this, MetricsEndpointName);
}
