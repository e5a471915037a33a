using Platform.Scheduler.Engine;
using Platform.Scheduler.Leadership;

namespace Platform.Scheduler.Hosting;

/// <summary>
/// Loads the jobs before the gRPC port opens, and commits all progress on shutdown. On an etcd cluster the engine owns
/// nothing at start: the replicas' elections hand it its partition, and on shutdown it lets go before leaving them.
/// </summary>
internal sealed class EngineHostedService(SchedulerEngine engine, EtcdLeadership? leadership = null) : IHostedService
{
    private readonly CancellationTokenSource _stopping = new();
    private Task _elections = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await engine.StartAsync(cancellationToken);
        if (leadership is not null) _elections = Task.Run(() => leadership.RunAsync(engine, _stopping.Token), CancellationToken.None);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync();
        await _elections;
        await engine.DisposeAsync();
        if (leadership is not null) await leadership.DisposeAsync();
    }
}
