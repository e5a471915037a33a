namespace Platform.Sidecar.Hosting;

/// <summary>A nested host's lifetime that waits for nothing: the sidecar's own host owns signals and shutdown.</summary>
internal sealed class FollowerLifetime : IHostLifetime
{
    public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
