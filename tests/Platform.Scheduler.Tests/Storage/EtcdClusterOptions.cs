using Platform.Scheduler.Storage.Etcd;
using TestSupport;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>The store's options for a test cluster: its endpoints and, when it is locked, its CA and client certificate.</summary>
public static class EtcdClusterOptions
{
    public static EtcdStoreOptions StoreOptions(this EtcdCluster cluster, string prefix = "dapr") => new()
    {
        Embed = false,
        ClientEndpoints = cluster.ClientEndpoints,
        KeyPrefix = prefix,
        ClientCaFile = cluster.CaFile,
        ClientCertFile = cluster.ClientCertFile,
        ClientKeyFile = cluster.ClientKeyFile,
    };
}
