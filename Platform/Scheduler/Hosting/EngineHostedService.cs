using Platform.Scheduler.Engine;

namespace Platform.Scheduler.Hosting;

/// <summary>Loads the jobs before the gRPC port opens, and commits all progress on shutdown.</summary>
internal sealed class EngineHostedService(SchedulerEngine engine) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken) => engine.StartAsync(cancellationToken);

    public async Task StopAsync(CancellationToken cancellationToken) => await engine.DisposeAsync();
}
