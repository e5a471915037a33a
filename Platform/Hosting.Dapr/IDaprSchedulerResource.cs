using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>The scheduler as the apps of the model see it: one process, or a group of replicas on an etcd cluster.</summary>
public interface IDaprSchedulerResource : IResource
{
    /// <summary>The scheduler processes the sidecars connect to.</summary>
    IReadOnlyList<DaprSchedulerResource> Replicas { get; }
}
