using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AppHost.Tests;

/// <summary>
/// The AppHost's own model started through Aspire.Hosting.Testing, with its state in a temporary data directory.
/// Remembers every process id its resources had, and the DCP processes that served it, so that a test can prove
/// none of them outlives the app.
/// </summary>
public sealed class RunningApp : IAsyncDisposable
{
    public static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(120);

    private readonly HashSet<int> _pids = [];
    private readonly CancellationTokenSource _watch = new();
    private Task? _watcher;

    private RunningApp(DistributedApplication app, string dataDirectory)
    {
        App = app;
        DataDirectory = dataDirectory;
    }

    public DistributedApplication App { get; }

    public string DataDirectory { get; }

    public ResourceNotificationService Notifications => App.ResourceNotifications;

    /// <summary>
    /// Every pid a resource of this app has had so far, the live children of those (a project's app under its
    /// <c>dotnet run</c> wrapper), and the DCP processes monitoring this test host. Read it before disposing.
    /// </summary>
    public IReadOnlyCollection<int> ProcessIds
    {
        get
        {
            lock (_pids)
            {
                foreach (var pid in _pids.ToList()) _pids.UnionWith(TestSupport.ProcessProbe.ChildrenOf(pid));
                // DCP: its API server monitors this test host; its controllers share the API server's kubeconfig.
                foreach (var dcp in TestSupport.ProcessProbe.Mentioning($"--monitor {Environment.ProcessId}"))
                {
                    _pids.Add(dcp);
                    if (KubeconfigOf(dcp) is { } kubeconfig) _pids.UnionWith(TestSupport.ProcessProbe.Mentioning(kubeconfig));
                }
                return [.. _pids];
            }
        }
    }

    /// <summary>
    /// Builds and starts the AppHost with <paramref name="args"/>; returns once every resource is healthy (or, without
    /// <paramref name="waitUntilHealthy"/>, once DCP has the model). With <paramref name="browserToken"/> the Aspire
    /// dashboard runs too (the testing builder leaves it out by default).
    /// </summary>
    public static async Task<RunningApp> StartAsync(string[] args, bool waitForCleanup = false, string? browserToken = null, bool waitUntilHealthy = true)
    {
        var dataDirectory = Directory.CreateTempSubdirectory("apphost-tests-").FullName;
        string[] dashboard = browserToken is null ? [] :
        [
            $"--ASPNETCORE_URLS=http://localhost:{TestSupport.FreePort.Next()}",
            $"--ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:{TestSupport.FreePort.Next()}",
            "--ASPIRE_ALLOW_UNSECURED_TRANSPORT=true",
            $"--ASPIRE_DASHBOARD_FRONTEND_BROWSERTOKEN={browserToken}",
        ];
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [.. args, .. dashboard, $"--AppHost:DataDirectory={dataDirectory}", $"--DcpPublisher:WaitForResourceCleanup={waitForCleanup}",
                $"--Parameters:backupapi-key={ApiKey}"],
            (options, _) => options.DisableDashboard = browserToken is null);
        // Health probes fail by design until each process listens; their errors would bury a real failure's output.
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical));
        var app = await builder.BuildAsync();
        var running = new RunningApp(app, dataDirectory);
        try
        {
            running._watcher = running.CollectPidsAsync();
            await app.StartAsync().WaitAsync(StartTimeout);
            if (!waitUntilHealthy) return running;
            using var cts = new CancellationTokenSource(StartTimeout);
            // Aspire's hidden helper resources (e.g. a project's rebuilder) never start; everything shown must be healthy.
            // The scheduler's jobs join the model as they are found (a copy is walked) and have no health of their own.
            foreach (var resource in app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Where(r => r is not Platform.Hosting.Dapr.DaprJobResource).ToList())
                if (!(app.ResourceNotifications.TryGetCurrentState(resource.Name, out var state) && state.Snapshot.IsHidden))
                    await app.ResourceNotifications.WaitForResourceHealthyAsync(resource.Name, cts.Token);
            return running;
        }
        catch
        {
            await running.DisposeAsync();
            throw;
        }
    }

    /// <summary>The operators' key for BackupApi in tests (the AppHost generates and keeps one otherwise).</summary>
    public const string ApiKey = "test-operator-key-0123456789abcdef";

    /// <summary>A client of the resource's http endpoint; BackupApi's carries the operators' API key.</summary>
    public HttpClient CreateHttpClient(string resource)
    {
        var http = App.CreateHttpClient(resource);
        if (resource == "backupapi") http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        return http;
    }

    public async Task<string> ParameterValueAsync(string name)
        => await App.Services.GetRequiredService<DistributedApplicationModel>().Resources.OfType<ParameterResource>().Single(p => p.Name == name)
            .GetValueAsync(CancellationToken.None) ?? throw new InvalidOperationException($"parameter {name} has no value");

    /// <summary>The resource's current process id, from its state as DCP reports it.</summary>
    public int ProcessIdOf(string resource)
        => Notifications.TryGetCurrentState(resource, out var e) && PidOf(e.Snapshot) is { } pid
            ? pid
            : throw new InvalidOperationException($"{resource} has no process id");

    /// <summary>The process id DCP reports for a resource (absent, or 0, before its process runs).</summary>
    private static int? PidOf(CustomResourceSnapshot snapshot)
        => snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } value
           && Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) is > 0 and var pid
            ? pid
            : null;

    /// <summary>
    /// Stops the app, waits (bounded) until every process it ran has exited, then removes their runtime temp files and
    /// deletes its data directory.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        var pids = ProcessIds;
        // DCP kills what does not stop in time (a project's `dotnet run` wrapper ignores SIGTERM), and a killed .NET
        // process cannot remove its runtime files: name them while /proc still knows the processes.
        var runtimeFiles = TestSupport.RuntimeTempFiles.Of(pids);
        try
        {
            await App.DisposeAsync();
        }
        finally
        {
            await _watch.CancelAsync();
            if (_watcher is not null) await _watcher.ContinueWith(_ => { }, TaskScheduler.Default);
            _watch.Dispose();
            // DCP stops processes in the background (and its controllers follow their API server by polling): the
            // data directory goes only once nothing can write into it any more.
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (pids.Any(TestSupport.ProcessProbe.IsAlive) && !cts.IsCancellationRequested)
                await Task.Delay(100, CancellationToken.None);
            // Per process: one still stopping past the bound keeps its files, the others' go.
            runtimeFiles.Remove();
            try { Directory.Delete(DataDirectory, recursive: true); }
            catch (DirectoryNotFoundException) { }
        }
    }

    private static string? KubeconfigOf(int pid)
    {
        try
        {
            var args = File.ReadAllText($"/proc/{pid}/cmdline").Split('\0');
            var at = Array.IndexOf(args, "--kubeconfig");
            return at >= 0 && at + 1 < args.Length ? args[at + 1] : null;
        }
        catch (IOException) { return null; }
    }

    private async Task CollectPidsAsync()
    {
        try
        {
            await foreach (var e in App.ResourceNotifications.WatchAsync(_watch.Token))
                if (PidOf(e.Snapshot) is { } pid)
                    lock (_pids) _pids.Add(pid);
        }
        catch (OperationCanceledException) { }
    }
}

public static class HttpJson
{
    public static async Task<JsonElement> GetJsonAsync(this HttpClient http, string path) => await http.GetFromJsonAsync<JsonElement>(path);
}
