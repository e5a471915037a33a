using TestSupport;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>One 3-member etcd cluster shared by a test class (each test uses its own key prefix); none when etcd is not installed.</summary>
public sealed class EtcdClusterFixture : IAsyncLifetime
{
    private EtcdCluster? _cluster;

    public EtcdCluster Cluster => _cluster ?? throw new InvalidOperationException(EtcdCluster.MissingReason ?? "The etcd cluster is not started.");

    public async Task InitializeAsync()
    {
        if (EtcdCluster.MissingReason is null) _cluster = await EtcdCluster.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_cluster is not null) await _cluster.DisposeAsync();
    }
}
