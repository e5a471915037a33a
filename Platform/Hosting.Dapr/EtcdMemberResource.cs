using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>One member of the schedulers' etcd cluster (Debian's <c>etcd</c>), listening on loopback only.</summary>
public sealed class EtcdMemberResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory)
{
    public const string ClientEndpointName = "client";
    public const string PeerEndpointName = "peer";

    public EndpointReference ClientEndpoint => new(this, ClientEndpointName);
}
