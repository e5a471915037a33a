using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>A Dapr sidecar (the toolkit's interface).</summary>
public interface IDaprSidecarResource : IResource, IResourceWithWaitSupport;

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

/// <summary>Marks an app with its sidecar (the toolkit's annotation).</summary>
public sealed record DaprSidecarAnnotation(IDaprSidecarResource Sidecar) : IResourceAnnotation;

/// <summary>The options a sidecar was created with (the toolkit's annotation).</summary>
public sealed record DaprSidecarOptionsAnnotation(DaprSidecarOptions Options) : IResourceAnnotation;

/// <summary>The scheduler as the apps of the model see it: one process, or a group of replicas on an etcd cluster.</summary>
public interface IDaprSchedulerResource : IResource
{
    /// <summary>The scheduler processes the sidecars connect to.</summary>
    IReadOnlyList<DaprSchedulerResource> Replicas { get; }
}

/// <summary>The Dapr scheduler: job store, timer engine and the trigger streams of every sidecar.</summary>
public sealed class DaprSchedulerResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory), IDaprSchedulerResource
{
    public const string GrpcEndpointName = "grpc";
    public const string HealthzEndpointName = "healthz";

    public EndpointReference GrpcEndpoint => new(this, GrpcEndpointName);

    IReadOnlyList<DaprSchedulerResource> IDaprSchedulerResource.Replicas => [this];
}

/// <summary>
/// Scheduler replicas sharing one etcd cluster, as Dapr runs its scheduler in Kubernetes: the parent of the replicas,
/// the etcd members and the jobs in the dashboard. Running once every member and replica runs; healthy while every
/// replica is.
/// </summary>
public sealed class DaprSchedulerReplicasResource(string name) : Resource(name), IDaprSchedulerResource
{
    public const string ResourceTypeName = "DaprSchedulerReplicas";

    internal List<DaprSchedulerResource> ReplicaList { get; } = [];

    internal List<EtcdMemberResource> MemberList { get; } = [];

    public IReadOnlyList<DaprSchedulerResource> Replicas => ReplicaList;

    /// <summary>The etcd cluster holding the replicas' jobs.</summary>
    public IReadOnlyList<EtcdMemberResource> EtcdMembers => MemberList;
}

/// <summary>One member of the schedulers' etcd cluster (Debian's <c>etcd</c>), listening on loopback only.</summary>
public sealed class EtcdMemberResource(string name, string command, string workingDirectory)
    : ExecutableResource(name, command, workingDirectory)
{
    public const string ClientEndpointName = "client";
    public const string PeerEndpointName = "peer";

    public EndpointReference ClientEndpoint => new(this, ClientEndpointName);
}
