using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Platform.Sidecar.AccessControl;
using Platform.Sidecar.Api;
using Platform.Sidecar.AppChannel;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Invocation;
using Platform.Sidecar.Scheduler;
using Platform.Sidecar.Security;

string[] flags;
try
{
    flags = SidecarFlags.Normalise(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    return 2;
}

// Configured by flags alone: no settings file to reload, so no watcher over the working directory and all below it
// (started from a repository's root, it cost the scheduler a quarter of a second of CPU).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
builder.Configuration.AddInMemoryCollection(SidecarFlags.FromEnvironment());
builder.Configuration.AddCommandLine(flags);
builder.Services.Configure<SidecarOptions>(builder.Configuration.GetSection(SidecarOptions.Section));
var options = builder.Configuration.GetSection(SidecarOptions.Section).Get<SidecarOptions>() ?? new SidecarOptions();
if (options.Validate() is { } invalid)
{
    Console.Error.WriteLine(invalid);
    return 2;
}
if (SidecarAccessControlLoader.Load(options) is not { } accessControl) return 2;
SidecarSecurity security;
try
{
    security = SidecarSecurity.Create(options, accessControl.TrustDomain);
}
catch (Platform.Security.IdentityException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}
builder.Services.AddSingleton(security);
Platform.Security.Renewal.IdentityRenewalExtensions.AddIdentityRenewal(builder.Services, security.Identity);
if (!SidecarAccessControlLoader.AgreesWith(accessControl, options, security)) return 2;
builder.Services.AddSingleton(accessControl);
builder.Services.AddSingleton<Platform.Sidecar.AccessControl.InternalInvocation>();

builder.Logging.SetMinimumLevel(options.LogLevel.ToLowerInvariant() switch
{
    "debug" => LogLevel.Debug,
    "warn" or "warning" => LogLevel.Warning,
    "error" => LogLevel.Error,
    "fatal" => LogLevel.Critical,
    _ => LogLevel.Information,
});
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);
builder.Logging.AddFilter("System.Net.Http", LogLevel.Warning);
builder.Logging.AddFilter("Grpc", LogLevel.Warning);
builder.Host.ConfigureHostOptions(h => h.ShutdownTimeout = TimeSpan.FromSeconds(5));

builder.WebHost.ConfigureKestrel(kestrel =>
{
    kestrel.Limits.MaxRequestBodySize = null;
    foreach (var address in options.ListenAddresses)
    {
        if (!SidecarFlags.TryParseListenAddress(address, out var ip)) throw new FormatException($"invalid listen address: {address}");
        kestrel.Listen(ip, options.DaprHttpPort, l => l.Protocols = HttpProtocols.Http1);
        kestrel.Listen(ip, options.DaprGrpcPort, l => l.Protocols = HttpProtocols.Http2);
        security.ConfigureListeners(kestrel, ip);
    }
});

builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddSingleton<SidecarMetrics>();
builder.Services.AddSingleton<SchedulerConnection>();
builder.Services.AddSingleton<JobsService>();
builder.Services.AddSingleton<AppHttpClient>();
builder.Services.AddSingleton<IAppChannel>(AppChannelFactory.Create);
builder.Services.AddSingleton<MetadataProvider>();
builder.Services.AddSingleton<ServiceInvoker>();
builder.Services.AddSingleton<AppRegistry>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<AppRegistry>());
builder.Services.AddSingleton<AppHealth>();
builder.Services.AddHostedService<AppHealthMonitor>();
builder.Services.AddHostedService<SchedulerDiscovery>();
builder.Services.AddHostedService<JobStreamWorker>();
builder.Services.AddGrpc(o =>
{
    o.Interceptors.Add<GrpcApiTokenInterceptor>();
    o.MaxReceiveMessageSize = options.MaxBodyBytes;
    o.MaxSendMessageSize = options.MaxBodyBytes;
});
builder.Services.AddGrpcReflection();

// The trigger spans are always recorded (they carry the scheduler's trace context on to the app); request and
// client instrumentation and the exporter only when telemetry is collected, to keep the hot paths lean otherwise.
var exportTelemetry = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
var otel = builder.Services.AddOpenTelemetry()
    .ConfigureResource(r =>
    {
        if (string.IsNullOrEmpty(builder.Configuration["OTEL_SERVICE_NAME"])) r.AddService($"{options.AppId}-dapr");
    })
    .WithTracing(t =>
    {
        t.AddSource(SidecarTelemetry.Name);
        // Health polls (Aspire's, every few seconds) would bury the real requests.
        if (exportTelemetry)
            t.AddAspNetCoreInstrumentation(o => o.Filter = ctx => !ctx.Request.Path.StartsWithSegments("/v1.0/healthz"))
                .AddHttpClientInstrumentation();
    })
    .WithMetrics(m =>
    {
        m.AddMeter(SidecarMetrics.Name);
        if (exportTelemetry) m.AddAspNetCoreInstrumentation().AddHttpClientInstrumentation();
        if (options.EnableMetrics) m.AddPrometheusExporter();
    });
if (exportTelemetry)
{
    builder.Logging.AddOpenTelemetry(l => { l.IncludeFormattedMessage = true; l.IncludeScopes = true; });
    otel.UseOtlpExporter();
    builder.Services.AddHostedService<TelemetryShutdown>();
}

// daprd's metrics server (--enable-metrics, --metrics-port, --metrics-listen-address): its own Kestrel server, see MetricsServer.
if (options.EnableMetrics)
{
    SidecarFlags.TryParseListenAddress(options.MetricsListenAddress, out var metricsIp); // checked by Validate
    builder.Services.AddSingleton(sp => new MetricsServer(metricsIp!, options.MetricsPortNumber, portRequired: options.MetricsPort is not null,
        sp.GetRequiredService<MeterProvider>(), sp.GetRequiredService<ILoggerFactory>()));
    builder.Services.AddHostedService(sp => sp.GetRequiredService<MetricsServer>());
}

var app = builder.Build();

app.UseInternalInvocationPort();
app.UseDaprApiToken();
// The header form of service invocation: any non-API path carrying dapr-app-id is an invocation of that app.
app.Use(async (context, next) =>
{
    var path = context.Request.Path.Value ?? "";
    if (context.Connection.LocalPort != options.DaprGrpcPort
        && context.Request.Headers.TryGetValue("dapr-app-id", out var target) && !string.IsNullOrEmpty(target)
        && !path.StartsWith("/v1.0", StringComparison.Ordinal))
    {
        await context.RequestServices.GetRequiredService<ServiceInvoker>().ForwardAsync(context, target.ToString(), path);
        return;
    }
    await next(context);
});

app.MapGrpcService<DaprGrpcService>();
app.MapGrpcReflectionService();
app.MapGet("/v1.0/healthz", SidecarHealth.Healthz);
app.MapGet("/v1.0/healthz/outbound", () => TypedResults.NoContent());
app.MapGet("/v1.0/metadata", (MetadataProvider metadata, SidecarMetrics metrics) =>
{
    metrics.Request("http", "GetMetadata");
    return TypedResults.Json(metadata.ToJson());
});
HttpJobsEndpoints.Map(app);
app.Map("/v1.0/invoke/{appId}/method/{**method}", (HttpContext context, string appId, string? method, ServiceInvoker invoker, SidecarMetrics metrics) =>
{
    metrics.Request("http", "InvokeService");
    return invoker.ForwardAsync(context, appId, method ?? "");
});
app.Map(ServiceInvoker.InternalPrefix + "{appId}/method/{**method}", (HttpContext context, string appId, string? method, Platform.Sidecar.AccessControl.InternalInvocation invocation) =>
    invocation.HandleAsync(context, appId, method));

RouteTable.LogOnStart(app);
var startupLog = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Sidecar");
app.Lifetime.ApplicationStarted.Register(() => startupLog.LogInformation(
    "Sidecar for app {AppId} (namespace {Namespace}) listening: HTTP {HttpPort}, gRPC {GrpcPort}, metrics {Metrics}; schedulers [{Schedulers}]",
    options.AppId, options.Namespace, options.DaprHttpPort, options.DaprGrpcPort,
    options.EnableMetrics ? app.Services.GetService<MetricsServer>()?.Endpoint?.ToString() ?? "unavailable" : "off", string.Join(",", options.SchedulerHosts)));

try
{
    await app.RunAsync();
}
catch (MetricsServerException)
{
    return 1; // already logged
}
return 0;
