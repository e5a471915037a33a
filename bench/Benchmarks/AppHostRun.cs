using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Benchmarks;

/// <summary>
/// The AppHost's own model started through Aspire.Hosting.Testing (DCP runs every process and proxies every endpoint,
/// as in <c>dotnet run --project AppHost</c>), its state in a temporary directory. Disposing stops the app and waits,
/// bounded, until every process it ran is gone, then ends any left by pid.
/// </summary>
public sealed class AppHostRun : IAsyncDisposable
{
    public const string ApiKey = "bench-operator-key-0123456789abcdef";

    private readonly DistributedApplication _app;
    private readonly HashSet<int> _pids = [];

    private AppHostRun(DistributedApplication app, string directory)
    {
        _app = app;
        Directory = directory;
    }

    public string Directory { get; }

    public static async Task<AppHostRun> StartAsync(string directory, IEnumerable<string> args, TimeSpan timeout)
    {
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
            [.. args, $"--AppHost:DataDirectory={Path.Combine(directory, "app")}", $"--Parameters:backupapi-key={ApiKey}",
                "--DcpPublisher:WaitForResourceCleanup=true"],
            (options, _) => options.DisableDashboard = true);
        builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.Critical)
            .AddFilter("System.Net.Http", LogLevel.Warning)
            .AddFilter("AppHost.Resources", LogLevel.Warning));
        var app = await builder.BuildAsync();
        var run = new AppHostRun(app, directory);
        try
        {
            using var cts = new CancellationTokenSource(timeout);
            await app.StartAsync(cts.Token);
            // BackupApi waits for the worker, which waits for the scheduler: healthy, it means all of them are.
            await app.ResourceNotifications.WaitForResourceHealthyAsync("backupapi", cts.Token);
            run.RememberPids();
            return run;
        }
        catch
        {
            await run.DisposeAsync();
            throw;
        }
    }

    public HttpClient Api()
    {
        var http = _app.CreateHttpClient("backupapi");
        http.DefaultRequestHeaders.Add("X-Api-Key", ApiKey);
        http.Timeout = TimeSpan.FromSeconds(100);
        return http;
    }

    /// <summary>Calls <paramref name="onLine"/> with each line the resource writes (as the dashboard's console logs show it) until cancelled.</summary>
    public async Task WatchLogsAsync(string resource, Action<string> onLine, CancellationToken cancellationToken)
    {
        var logs = _app.Services.GetRequiredService<ResourceLoggerService>();
        // The resource, not its name: a project's log stream is kept under its DCP instance id.
        var model = _app.Services.GetRequiredService<DistributedApplicationModel>().Resources.Single(r => r.Name == resource);
        try
        {
            await foreach (var batch in logs.WatchAsync(model).WithCancellation(cancellationToken))
                foreach (var line in batch) onLine(line.Content);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { }
    }

    /// <summary>The resource's process id as DCP reports it, or null.</summary>
    public int? PidOf(string resource) =>
        _app.ResourceNotifications.TryGetCurrentState(resource, out var e)
        && e.Snapshot.Properties.FirstOrDefault(p => p.Name == "executable.pid")?.Value is { } value
        && Convert.ToInt32(value, System.Globalization.CultureInfo.InvariantCulture) is > 0 and var pid
            ? pid
            : null;

    private void RememberPids()
    {
        foreach (var resource in _app.Services.GetRequiredService<DistributedApplicationModel>().Resources)
            if (PidOf(resource.Name) is { } pid)
                _pids.UnionWith(TestSupport.ProcessProbe.TreeOf(pid));
        // DCP's own processes monitor this one.
        foreach (var dcp in TestSupport.ProcessProbe.Mentioning($"--monitor {Environment.ProcessId}")) _pids.Add(dcp);
    }

    public async ValueTask DisposeAsync()
    {
        RememberPids();
        try { await _app.DisposeAsync(); }
        finally
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            while (_pids.Any(TestSupport.ProcessProbe.IsAlive) && !cts.IsCancellationRequested)
                await Task.Delay(100, CancellationToken.None);
            foreach (var pid in _pids.Where(TestSupport.ProcessProbe.IsAlive))
            {
                Machine.Note($"apphost: pid {pid} still running 30 s after the app stopped: ending it");
                try { System.Diagnostics.Process.GetProcessById(pid).Kill(entireProcessTree: true); }
                catch (ArgumentException) { }
                catch (InvalidOperationException) { }
            }
            try { System.IO.Directory.Delete(Directory, recursive: true); }
            catch (IOException) { }
        }
    }
}
