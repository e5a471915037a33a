using System.Net;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Hosting;
using Platform.Scheduler.Leadership;
using Platform.Scheduler.Limits;
using Platform.Scheduler.Security;
using Platform.Scheduler.Services;
using Platform.Scheduler.Storage;
using Platform.Scheduler.Storage.Etcd;

// Configured by flags alone: no settings file to reload, so no watcher over the working directory and all below it
// (started from a repository's root, it cost the scheduler a quarter of a second of CPU).
var builder = WebApplication.CreateBuilder(new WebApplicationOptions { Args = ["--hostBuilder:reloadConfigOnChange=false"] });
builder.Configuration.AddCommandLine(args, new Dictionary<string, string>(SchedulerOptions.SwitchMappings.Concat(SchedulerLimits.SwitchMappings)
    .Concat(EtcdStoreOptions.SwitchMappings)));
var options = builder.Configuration.GetSection(SchedulerOptions.Section).Get<SchedulerOptions>() ?? new SchedulerOptions();
builder.Services.Configure<SchedulerOptions>(builder.Configuration.GetSection(SchedulerOptions.Section));
var limits = builder.Configuration.GetSection(SchedulerLimits.Section).Get<SchedulerLimits>() ?? new SchedulerLimits();
if (limits.Validate() is { } invalidLimit)
{
    Console.Error.WriteLine(invalidLimit);
    return 2;
}
try
{
    options.ParseAppTrustDomains();
}
catch (InvalidOperationException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var level = SchedulerOptions.ParseLogLevel(builder.Configuration["Scheduler:LogLevel"]);
builder.Logging.SetMinimumLevel(level);
builder.Logging.AddFilter("Microsoft.AspNetCore", level > LogLevel.Warning ? level : LogLevel.Warning);
builder.Logging.AddFilter("Grpc", level > LogLevel.Warning ? level : LogLevel.Warning);

SchedulerSecurity security;
try
{
    security = SchedulerSecurity.Add(builder.Services, options);
}
catch (Platform.Security.IdentityException e)
{
    Console.Error.WriteLine(e.Message);
    return 2;
}

var listen = IPAddress.Parse(options.ListenAddress);
builder.WebHost.ConfigureKestrel(k =>
{
    // Dapr's scheduler keeps streams alive with 3 s pings and drops a peer silent for 5 s more;
    // a dead sidecar's in-flight triggers are then redelivered to another.
    k.Limits.Http2.KeepAlivePingDelay = TimeSpan.FromSeconds(3);
    k.Limits.Http2.KeepAlivePingTimeout = TimeSpan.FromSeconds(5);
    k.Limits.Http2.MaxStreamsPerConnection = 1000;
    k.Listen(listen, options.Port, o =>
    {
        o.Protocols = HttpProtocols.Http2;
        security.Configure(o);
    });
    k.Listen(listen, options.HealthzPort, o => o.Protocols = HttpProtocols.Http1);
});

builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
builder.Services.AddSingleton(TimeProvider.System);
builder.Services.AddJobStore(builder.Configuration);
builder.Services.AddSingleton(sp =>
{
    var engineOptions = limits.ToEngineOptions();
    // A replica of several owns nothing until the elections give it its partition.
    if (sp.GetService<EtcdLeadership>() is not null) engineOptions.Partition = null;
    return new SchedulerEngine(sp.GetRequiredService<IJobStore>(), sp.GetRequiredService<TimeProvider>(),
        sp.GetRequiredService<ILogger<SchedulerEngine>>(), engineOptions);
});
builder.Services.AddHostedService<EngineHostedService>();
builder.Services.AddGrpc(o =>
{
    o.Interceptors.Add<EngineErrorInterceptor>();
    o.MaxReceiveMessageSize = limits.MaxMessageBytes;
    o.MaxSendMessageSize = limits.MaxMessageBytes;
});

// Trigger spans are always created (their context travels to the sidecar); exported when OTLP is configured.
var otlp = !string.IsNullOrEmpty(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]);
var otel = builder.Services.AddOpenTelemetry();
if (string.IsNullOrEmpty(builder.Configuration["OTEL_SERVICE_NAME"])) otel.ConfigureResource(r => r.AddService("scheduler", serviceInstanceId: options.Id));
otel.WithTracing(t =>
{
    t.AddSource(SchedulerEngine.TelemetryName);
    if (otlp)
    {
        t.AddAspNetCoreInstrumentation(o => o.Filter = ctx =>
            !ctx.Request.Path.StartsWithSegments("/healthz") && !ctx.Request.Path.Value!.Contains("/Watch", StringComparison.Ordinal)
            // The AppHost's jobs view polls the admin service every second.
            && !ctx.Request.Path.StartsWithSegments("/platform.scheduler.v1.SchedulerAdmin"));
        t.AddOtlpExporter();
    }
});
otel.WithMetrics(m =>
{
    m.AddMeter(SchedulerEngine.TelemetryName);
    if (otlp) m.AddOtlpExporter();
});
if (otlp) builder.Logging.AddOpenTelemetry(o => o.AddOtlpExporter());
if (otlp) builder.Services.AddHostedService<TelemetryShutdown>();

var app = builder.Build();
// Requests are told apart by the port they arrived on, not by their Host header: behind Aspire's endpoint proxies
// the Host names the proxy's port. The healthz port (HTTP/1.1 only) answers /healthz and nothing else.
var engineForHealth = app.Services.GetRequiredService<SchedulerEngine>();
var storeForHealth = app.Services.GetRequiredService<IJobStore>();
var leadershipForHealth = app.Services.GetService<EtcdLeadership>();
app.MapWhen(ctx => ctx.Connection.LocalPort == options.HealthzPort,
    health => health.Run(ctx => HealthEndpoint.HandleAsync(ctx, engineForHealth, storeForHealth, leadershipForHealth, security.Identity)));
app.MapGrpcService<SchedulerService>();
app.MapGrpcService<SchedulerAdminService>();
security.LogMode(app.Logger);
app.Lifetime.ApplicationStarted.Register(() =>
    app.Logger.LogInformation("Scheduler {Id} serving gRPC on {Address}:{Port}, data in {DataDir}",
        options.Id, options.ListenAddress, options.Port, Path.GetFullPath(options.DataDir)));
app.Run();
return 0;
