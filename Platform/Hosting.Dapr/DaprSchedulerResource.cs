using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>The Dapr scheduler: job store, timer engine and the trigger streams of every sidecar.</summary>
public sealed class DaprSchedulerResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory), IDaprSchedulerResource
{
    public const string GrpcEndpointName = "grpc";
    public const string HealthzEndpointName = "healthz";

    public EndpointReference GrpcEndpoint => new(this, GrpcEndpointName);

    IReadOnlyList<DaprSchedulerResource> IDaprSchedulerResource.Replicas => [this];
}
