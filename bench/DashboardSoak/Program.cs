// Dashboard soak: does the dashboard's memory stay bounded while apps keep emitting telemetry?
//
//   dotnet run -c Release --project bench/DashboardSoak -- [--minutes 10] [--logs-per-second 300]
//       [--traces-per-second 100] [--series 200] [--sample-seconds 5] [--max-logs N] [--max-spans N] [--max-points N]
//       [--dashboard path/to/Platform.Dashboard.dll]   (default: this configuration's build output in the repo)
//
// Starts Platform.Dashboard (this configuration's build output) on free loopback ports, emits logs, spans
// (3 per trace, from three services) and metrics over OTLP/gRPC with the real OpenTelemetry SDK exporters,
// samples the dashboard's RSS from /proc every few seconds, and prints max/avg RSS and the configured limits.
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

var options = SoakOptions.Parse(args);
var root = FindRepoRoot();
#if DEBUG
const string configuration = "Debug";
#else
const string configuration = "Release";
#endif
var dll = options.Dashboard ?? Path.Combine(root, "Platform", "Dashboard", "bin", configuration, "net10.0", "Platform.Dashboard.dll");
if (!File.Exists(dll)) { Console.Error.WriteLine($"Dashboard build output not found: {dll}"); return 2; }

int uiPort = FreePort(), grpcPort = FreePort(), httpPort = FreePort();
const string apiKey = "soak-key";
var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
psi.ArgumentList.Add(dll);
psi.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{uiPort}";
psi.Environment["Dashboard__Otlp__GrpcEndpointUrl"] = $"http://127.0.0.1:{grpcPort}";
psi.Environment["Dashboard__Otlp__HttpEndpointUrl"] = $"http://127.0.0.1:{httpPort}";
psi.Environment["Dashboard__Otlp__PrimaryApiKey"] = apiKey;
if (options.MaxLogs is { } ml) psi.Environment["Dashboard__TelemetryLimits__MaxLogCount"] = ml.ToString(CultureInfo.InvariantCulture);
if (options.MaxSpans is { } ms) psi.Environment["Dashboard__TelemetryLimits__MaxSpanCount"] = ms.ToString(CultureInfo.InvariantCulture);
if (options.MaxPoints is { } mp) psi.Environment["Dashboard__TelemetryLimits__MaxMetricPoints"] = mp.ToString(CultureInfo.InvariantCulture);

using var dashboard = Process.Start(psi)!;
// Drain the output so the child never blocks on a full pipe; keep only the tail for error reports.
var tail = new Queue<string>();
void Keep(string? line) { if (line is null) return; lock (tail) { tail.Enqueue(line); if (tail.Count > 40) tail.Dequeue(); } }
dashboard.OutputDataReceived += (_, e) => Keep(e.Data);
dashboard.ErrorDataReceived += (_, e) => Keep(e.Data);
dashboard.BeginOutputReadLine();
dashboard.BeginErrorReadLine();

using var stop = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.Cancel(); };
using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{uiPort}"), Timeout = TimeSpan.FromSeconds(5) };
try
{
    await WaitForHealthAsync(http, dashboard, TimeSpan.FromSeconds(60));
    var initial = await StatsAsync(http);
    Console.WriteLine($"dashboard pid {dashboard.Id}: UI {http.BaseAddress} OTLP/gRPC :{grpcPort}");
    Console.WriteLine($"limits: MaxLogCount={initial.GetProperty("maxLogCount")} MaxSpanCount={initial.GetProperty("maxSpanCount")} MaxMetricPoints={initial.GetProperty("maxMetricPoints")}");
    Console.WriteLine($"load: {options.LogsPerSecond} logs/s, {options.TracesPerSecond} traces/s x 3 spans, {options.Series} counter series + 4 histogram series exported every 1 s, for {options.Minutes} min");

    var emitter = new Emitter(grpcPort, apiKey, options);
    var emitting = emitter.RunAsync(stop.Token);

    var samples = new List<double>();
    var started = Stopwatch.StartNew();
    var duration = TimeSpan.FromMinutes(options.Minutes);
    JsonElement last = initial;
    while (started.Elapsed < duration && !stop.IsCancellationRequested && !dashboard.HasExited)
    {
        try { await Task.Delay(TimeSpan.FromSeconds(options.SampleSeconds), stop.Token); } catch (OperationCanceledException) { break; }
        var rss = RssMegabytes(dashboard.Id);
        samples.Add(rss);
        try { last = await StatsAsync(http); } catch (HttpRequestException) { } catch (TaskCanceledException) { }
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{started.Elapsed:mm\\:ss} rss={rss,7:0.0} MB  logs={last.GetProperty("logs"),6} spans={last.GetProperty("spans"),6} points={last.GetProperty("metricPoints"),6} heap={last.GetProperty("managedHeapBytes").GetInt64() / 1048576.0,6:0.0} MB  sent logs={emitter.Logs} spans={emitter.Spans}"));
    }
    stop.Cancel();
    await emitting;
    if (dashboard.HasExited) throw new InvalidOperationException($"dashboard exited with {dashboard.ExitCode}");

    Console.WriteLine();
    Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
        $"RESULT duration={started.Elapsed.TotalMinutes:0.0} min samples={samples.Count} rss max={samples.DefaultIfEmpty().Max():0.0} MB avg={samples.DefaultIfEmpty().Average():0.0} MB " +
        $"last={samples.LastOrDefault():0.0} MB; first-minute max={samples.Take(Math.Max(1, 60 / options.SampleSeconds)).DefaultIfEmpty().Max():0.0} MB"));
    Console.WriteLine($"RESULT stored logs={last.GetProperty("logs")}/{last.GetProperty("maxLogCount")} spans={last.GetProperty("spans")}/{last.GetProperty("maxSpanCount")} " +
        $"points={last.GetProperty("metricPoints")}/{last.GetProperty("maxMetricPoints")}; evicted logs={last.GetProperty("logsEvicted")} spans={last.GetProperty("spansEvicted")} points={last.GetProperty("metricPointsEvicted")}");
    Console.WriteLine($"RESULT sent logs={emitter.Logs} spans={emitter.Spans}");
    return 0;
}
catch (Exception ex)
{
    Console.Error.WriteLine("soak failed: " + ex.Message);
    lock (tail) foreach (var line in tail) Console.Error.WriteLine("  | " + line);
    return 1;
}
finally
{
    if (!dashboard.HasExited) { dashboard.Kill(entireProcessTree: true); dashboard.WaitForExit(); }
}

static async Task WaitForHealthAsync(HttpClient http, Process process, TimeSpan timeout)
{
    var deadline = DateTime.UtcNow + timeout;
    while (true)
    {
        if (process.HasExited) throw new InvalidOperationException($"dashboard exited with {process.ExitCode} during start-up");
        try { if ((await http.GetAsync("/healthz")).IsSuccessStatusCode) return; }
        catch (HttpRequestException) { }
        catch (TaskCanceledException) { }
        if (DateTime.UtcNow > deadline) throw new TimeoutException("dashboard /healthz not ready");
        await Task.Delay(200);
    }
}

static async Task<JsonElement> StatsAsync(HttpClient http) =>
    JsonDocument.Parse(await http.GetStringAsync("/api/telemetry/stats")).RootElement.Clone();

static double RssMegabytes(int pid)
{
    // VmRSS from /proc: what the kernel has resident for the process, the figure an operator would see.
    foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            return double.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    return 0;
}

static int FreePort()
{
    using var l = new TcpListener(IPAddress.Loopback, 0);
    l.Start();
    return ((IPEndPoint)l.LocalEndpoint).Port;
}

static string FindRepoRoot()
{
    for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        if (File.Exists(Path.Combine(dir.FullName, "Aspire.sln"))) return dir.FullName;
    throw new DirectoryNotFoundException("Aspire.sln not found above " + AppContext.BaseDirectory);
}

sealed record SoakOptions(double Minutes, int LogsPerSecond, int TracesPerSecond, int Series, int SampleSeconds, int? MaxLogs, int? MaxSpans, int? MaxPoints, string? Dashboard)
{
    public static SoakOptions Parse(string[] args)
    {
        var map = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        for (var i = 0; i + 1 < args.Length; i += 2)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal)) throw new ArgumentException($"Unexpected argument '{args[i]}'");
            map[args[i][2..]] = args[i + 1];
        }
        double D(string k, double d) => map.TryGetValue(k, out var v) ? double.Parse(v, CultureInfo.InvariantCulture) : d;
        int I(string k, int d) => map.TryGetValue(k, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : d;
        int? N(string k) => map.TryGetValue(k, out var v) ? int.Parse(v, CultureInfo.InvariantCulture) : null;
        return new SoakOptions(D("minutes", 10), I("logs-per-second", 300), I("traces-per-second", 100), I("series", 200),
            Math.Max(1, I("sample-seconds", 5)), N("max-logs"), N("max-spans"), N("max-points"), map.GetValueOrDefault("dashboard"));
    }
}

/// <summary>Three services (scheduler, sidecar, worker) emitting like the real app, only faster.</summary>
sealed class Emitter(int grpcPort, string apiKey, SoakOptions options)
{
    private long _logs, _spans;
    public long Logs => Interlocked.Read(ref _logs);
    public long Spans => Interlocked.Read(ref _spans);

    private void Exporter(OtlpExporterOptions o)
    {
        o.Endpoint = new Uri($"http://127.0.0.1:{grpcPort}");
        o.Protocol = OtlpExportProtocol.Grpc;
        o.Headers = "x-otlp-api-key=" + apiKey;
        o.BatchExportProcessorOptions.ScheduledDelayMilliseconds = 1000;
        o.BatchExportProcessorOptions.MaxQueueSize = 16384;
    }

    private static ResourceBuilder Resource(string name) => ResourceBuilder.CreateEmpty().AddService(name, serviceInstanceId: name + "-soak");

    public async Task RunAsync(CancellationToken ct)
    {
        string[] services = ["scheduler", "backupworker-dapr", "backupworker"];
        var tracers = services.Select(s => Sdk.CreateTracerProviderBuilder().SetResourceBuilder(Resource(s)).AddSource("Soak." + s)
            .SetSampler(new AlwaysOnSampler()).AddOtlpExporter(Exporter).Build()).ToArray();
        var sources = services.Select(s => new ActivitySource("Soak." + s)).ToArray();
        var loggerFactory = LoggerFactory.Create(b => b.AddOpenTelemetry(o =>
        {
            o.SetResourceBuilder(Resource("backupworker"));
            o.IncludeFormattedMessage = true;
            o.AddOtlpExporter(Exporter);
        }));
        var logger = loggerFactory.CreateLogger("BackupWorker.BackupEngine");
        using var meter = new Meter("Soak.Scheduler");
        var meters = Sdk.CreateMeterProviderBuilder().SetResourceBuilder(Resource("scheduler")).AddMeter(meter.Name)
            .AddOtlpExporter((o, reader) => { Exporter(o); reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 1000; }).Build();
        var sent = meter.CreateCounter<long>("scheduler.triggers.sent");
        var lateness = meter.CreateHistogram<double>("scheduler.trigger.lateness", "ms");

        const int ticksPerSecond = 10;
        var random = new Random(42);
        long tick = 0;
        var clock = Stopwatch.StartNew();
        try
        {
            while (!ct.IsCancellationRequested)
            {
                tick++;
                for (var i = 0; i < options.TracesPerSecond / ticksPerSecond; i++)
                {
                    var job = $"job-{random.Next(options.Series)}";
                    using var trigger = sources[0].StartActivity("trigger " + job, ActivityKind.Producer);
                    trigger?.SetTag("scheduler.job.name", job);
                    using (var deliver = sources[1].StartActivity("deliver " + job, ActivityKind.Client))
                    {
                        deliver?.SetTag("dapr.app_id", "backupworker");
                        using var handle = sources[2].StartActivity("POST /job/" + job, ActivityKind.Server);
                        handle?.SetTag("backup.database", "db-" + job);
                    }
                    Interlocked.Add(ref _spans, 3);
                    sent.Add(1, new KeyValuePair<string, object?>("job", job));
                    lateness.Record(random.NextDouble() * 50, new KeyValuePair<string, object?>("replica", random.Next(4)));
                }
                for (var i = 0; i < options.LogsPerSecond / ticksPerSecond; i++)
                {
                    var level = random.Next(20) switch { 0 => LogLevel.Error, 1 or 2 => LogLevel.Warning, _ => LogLevel.Information };
                    logger.Log(level, "Backup of {Database} to {Location} finished in {Elapsed} ms", "db-" + random.Next(options.Series), "/backup-dir", random.Next(2000));
                    Interlocked.Increment(ref _logs);
                }
                var due = TimeSpan.FromMilliseconds(tick * 1000.0 / ticksPerSecond) - clock.Elapsed;
                if (due > TimeSpan.Zero)
                {
                    try { await Task.Delay(due, ct); } catch (OperationCanceledException) { break; }
                }
            }
        }
        finally
        {
            foreach (var t in tracers) t.Dispose();
            foreach (var s in sources) s.Dispose();
            loggerFactory.Dispose();
            meters.Dispose();
        }
    }
}
