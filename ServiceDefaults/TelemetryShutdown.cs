using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Ends the export of telemetry within <see cref="Budget"/> once the host has stopped. The AppHost stops the dashboard
/// (the OTLP endpoint) with everything else, and the exporter retries an unreachable endpoint for up to its timeout per
/// signal, one signal after another as the host disposes them: an app took 16 s to exit, past the 6 s after which the
/// orchestrator kills it. Shut down side by side with one bound, what reaches the endpoint in time is sent and the
/// rest is dropped.
/// </summary>
internal sealed class TelemetryShutdown(IServiceProvider services, IHostApplicationLifetime lifetime) : IHostedService
{
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(1);

    public Task StartAsync(CancellationToken cancellationToken)
    {
        // After every hosted service has stopped, so that what they log on the way out is exported too.
        lifetime.ApplicationStopped.Register(Shutdown);
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private void Shutdown()
    {
        var milliseconds = (int)Budget.TotalMilliseconds;
        // A provider shut down here is not shut down again when the host disposes it.
        Parallel.Invoke(
            () => services.GetService<TracerProvider>()?.Shutdown(milliseconds),
            () => services.GetService<MeterProvider>()?.Shutdown(milliseconds),
            () => services.GetService<LoggerProvider>()?.Shutdown(milliseconds));
    }
}
