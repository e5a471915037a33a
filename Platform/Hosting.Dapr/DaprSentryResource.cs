using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>
/// Dapr's Sentry: the run's certificate authority, signing each sidecar's and scheduler's certificate request over
/// <c>dapr.proto.sentry.v1.CA</c>. It starts first; the processes that ask it wait for it.
/// </summary>
public sealed class DaprSentryResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory)
{
    public const string GrpcEndpointName = "grpc";
    public const string HealthzEndpointName = "healthz";

    public EndpointReference GrpcEndpoint => new(this, GrpcEndpointName);
}
