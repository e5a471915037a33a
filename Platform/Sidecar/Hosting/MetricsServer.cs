using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using OpenTelemetry.Metrics;

namespace Platform.Sidecar.Hosting;

/// <summary>
/// daprd's metrics server: Prometheus text exposition on <c>GET /metrics</c> from a Kestrel server of its own on the
/// metrics port, apart from the dapr HTTP/gRPC listeners, so the API's routes, API token check and header-based
/// invocation never see a scrape, and <c>/metrics</c> is not served on the API ports. Anything else on this port is 404.
/// It takes no API token, like daprd's.
/// </summary>
/// <remarks>
/// A port given explicitly with --metrics-port must be bound, or the sidecar stops (as daprd does: "failed to start
/// metrics server"). The default port 9090 is shared by every sidecar started without the flag, so there a port in use
/// is logged and the sidecar runs on without metrics.
/// </remarks>
public sealed class MetricsServer(IPAddress address, int port, bool portRequired, MeterProvider meterProvider, ILoggerFactory loggerFactory)
    : IHostedService, IAsyncDisposable
{
    public const string Path = "/metrics";

    private readonly ILogger _log = loggerFactory.CreateLogger<MetricsServer>();
    private WebApplication? _app;

    /// <summary>Where it listens once started; null when it is not running.</summary>
    public IPEndPoint? Endpoint { get; private set; }

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        // Logs go to the sidecar's loggers; a failed start is reported below rather than by this host.
        builder.Logging.AddProvider(new ForwardingLoggerProvider(loggerFactory));
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting", LogLevel.None);
        builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
        // The sidecar's own host owns the process lifetime (SIGTERM, start-up messages); this server follows it.
        builder.Services.AddSingleton<IHostLifetime, FollowerLifetime>();
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(address, port, l => l.Protocols = HttpProtocols.Http1));
        var app = builder.Build();
        app.UseOpenTelemetryPrometheusScrapingEndpoint(meterProvider,
            context => context.Request.Path == Path && HttpMethods.IsGet(context.Request.Method),
            path: null!, configureBranchedPipeline: null!, optionsName: null!);
        app.Run(context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        try
        {
            await app.StartAsync(cancellationToken);
        }
        catch (IOException ex)
        {
            await app.DisposeAsync();
            var endpoint = $"{SidecarOptions.FormatHost(address.ToString())}:{port}";
            if (portRequired)
            {
                _log.LogCritical("failed to start metrics server on {Endpoint}: {Reason}", endpoint, ex.Message);
                throw new MetricsServerException($"failed to start metrics server on {endpoint}: {ex.Message}", ex);
            }
            _log.LogWarning("Metrics server not started: {Endpoint} is not free ({Reason}); pass --metrics-port to choose another port",
                endpoint, ex.Message);
            return;
        }
        _app = app;
        Endpoint = new IPEndPoint(address, port);
        _log.LogInformation("Metrics server listening on http://{Host}:{Port}{Path}", SidecarOptions.FormatHost(address.ToString()), port, Path);
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is null) return;
        await _app.StopAsync(cancellationToken);
        Endpoint = null;
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is not null) await _app.DisposeAsync();
        _app = null;
    }
}
