using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Hosting;

namespace Platform.Sidecar.AppChannel;

/// <summary>
/// Probes the app every --app-health-probe-interval with a --app-health-probe-timeout limit: HTTP apps with
/// <c>GET &lt;path&gt;</c> (2xx = healthy), gRPC apps with <c>AppCallbackHealthCheck/HealthCheck</c> (OK = healthy).
/// </summary>
public sealed partial class AppHealthMonitor(
    AppHealth health,
    IAppChannel app,
    IOptions<SidecarOptions> options,
    TimeProvider time,
    ILogger<AppHealthMonitor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!health.Enabled) return;
        var o = options.Value;
        var interval = TimeSpan.FromSeconds(Math.Max(1, o.AppHealthProbeInterval));
        using var timer = new PeriodicTimer(interval, time);
        try
        {
            do
            {
                await ProbeOnceAsync(stoppingToken);
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
    }

    /// <summary>One probe under the probe timeout, reported to <see cref="AppHealth"/>.</summary>
    public async Task ProbeOnceAsync(CancellationToken ct)
    {
        var o = options.Value;
        using var timeout = new CancellationTokenSource(TimeSpan.FromMilliseconds(Math.Max(1, o.AppHealthProbeTimeout)), time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, timeout.Token);
        bool ok;
        try
        {
            // A probe every interval would bury the real traces: no client span, and no trace context for the app.
            using (OpenTelemetry.SuppressInstrumentationScope.Begin())
                ok = await app.ProbeHealthAsync(o.AppHealthCheckPath, linked.Token);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            LogProbeFailed(logger, ex.Message);
            ok = false;
        }
        health.Report(ok);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "App health probe failed: {Error}")]
    private static partial void LogProbeFailed(ILogger logger, string error);
}
