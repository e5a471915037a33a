
namespace Platform.Scheduler.Tests.Storage;

/// <summary>One locked etcd cluster for every class of this folder (each test uses its own key prefix): a cluster costs seconds to start.</summary>
[CollectionDefinition(Name)]
public sealed class EtcdStorageCollection : ICollectionFixture<EtcdClusterFixture>
{
    public const string Name = "etcd storage";
}
