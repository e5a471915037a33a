using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

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
