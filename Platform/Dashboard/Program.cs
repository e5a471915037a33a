using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Options;
using Platform.Dashboard;
using Platform.Dashboard.Components;
using Platform.Dashboard.Hosting;
using Platform.Dashboard.Jobs;
using Platform.Dashboard.Otlp;
using Platform.Dashboard.Resources;
using Platform.Dashboard.Security;
using Platform.Dashboard.Telemetry;

// Every listener is configured explicitly below (the UI from ASPNETCORE_URLS, plus the two OTLP ones). The
// variable is taken out of the environment first, or Kestrel would warn that explicit endpoints override it.
var environmentUrls = Environment.GetEnvironmentVariable("ASPNETCORE_URLS");
Environment.SetEnvironmentVariable("ASPNETCORE_URLS", null);
var builder = WebApplication.CreateBuilder(args);

var dashboardSection = builder.Configuration.GetSection(DashboardOptions.SectionName);
var startupOptions = dashboardSection.Get<DashboardOptions>() ?? new DashboardOptions();
builder.Services.Configure<DashboardOptions>(dashboardSection);
// Every OTLP export is an HTTP request; logging each at Information would flood the console the AppHost shows.
builder.Logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning);

var listeners = DashboardListeners.From(builder.WebHost.GetSetting(WebHostDefaults.ServerUrlsKey) is { Length: > 0 } urls ? urls : environmentUrls,
    startupOptions.Otlp);
builder.WebHost.ConfigureKestrel(listeners.Configure);
builder.Services.AddSingleton(listeners);

builder.Services.AddSingleton(TimeProvider.System);
var limits = startupOptions.TelemetryLimits;
builder.Services.AddSingleton(new ResourceRegistry(limits.MaxResourceCount));
builder.Services.AddSingleton(new LogStore(limits.MaxLogCount));
builder.Services.AddSingleton(new SpanStore(limits.MaxSpanCount));
builder.Services.AddSingleton(new MetricStore(limits.MaxMetricPoints));
builder.Services.AddSingleton(new ConsoleLogStore(limits.MaxConsoleLogLines));
builder.Services.AddSingleton<OtlpIngestor>();
builder.Services.AddSingleton<FrontendAuth>();
builder.Services.AddSingleton<ListenerGate>();
builder.Services.AddSingleton<SchedulerJobsClient>();
builder.Services.AddHttpClient<ResourceServiceClient>((sp, http) =>
    ResourceServiceClient.Configure(http, sp.GetRequiredService<IOptions<DashboardOptions>>().Value));
builder.Services.AddSingleton<ResourcePoller>();
builder.Services.AddHostedService(sp => sp.GetRequiredService<ResourcePoller>());

// Antiforgery needs data protection keys; nothing here outlives the process, so keep them in memory
// instead of writing a key ring into the user profile.
builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
builder.Services.AddGrpc();
builder.Services.AddRazorComponents();

var app = builder.Build();

var gate = app.Services.GetRequiredService<ListenerGate>();
app.Use((ctx, next) => gate.InvokeAsync(ctx, _ => next()));
app.UseAntiforgery();

app.MapGet("/healthz", () => TypedResults.Ok("Healthy"));
app.Services.GetRequiredService<FrontendAuth>().MapLogin(app);
app.MapGet("/assets/{file}", EmbeddedAssets.Serve);
app.MapGrpcService<OtlpTraceService>();
app.MapGrpcService<OtlpLogsService>();
app.MapGrpcService<OtlpMetricsService>();
app.MapOtlpHttp();
app.MapUiActions();
// Counts against limits: lets the soak harness and tests see what is stored without scraping pages.
app.MapGet("/api/telemetry/stats", (LogStore logs, SpanStore spans, MetricStore metrics, ResourceRegistry resources) => TypedResults.Ok(new
{
    logs = logs.Count, maxLogCount = logs.Capacity, logsEvicted = logs.Evicted,
    spans = spans.Count, traces = spans.TraceCount, maxSpanCount = spans.Capacity, spansEvicted = spans.Evicted,
    metricPoints = metrics.Count, maxMetricPoints = metrics.Capacity, metricPointsEvicted = metrics.Evicted,
    resources = resources.All().Count,
    managedHeapBytes = GC.GetGCMemoryInfo().HeapSizeBytes,
}));
app.MapRazorComponents<App>();

app.Lifetime.ApplicationStarted.Register(() =>
{
    var log = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Dashboard");
    foreach (var (url, role) in listeners.Urls) StartupLog.Listening(log, role.ToString(), url.ToString());
});

app.Run();

internal static partial class StartupLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Dashboard {Role} listening on {Url}")]
    public static partial void Listening(ILogger logger, string role, string url);
}
