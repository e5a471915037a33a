using System.Diagnostics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using Platform.Hosting.Orchestration;
using Platform.Hosting.ResourceService;

namespace Platform.Hosting;

/// <summary>
/// A built application model and the orchestrator that runs it (what Aspire's DistributedApplication and DCP do together):
/// every resource is a local process on loopback ports, all state lives under one data directory.
/// </summary>
public sealed class DistributedApplication : IAsyncDisposable, IDisposable
{
    private readonly DistributedApplicationOptions _options;
    private readonly Orchestrator _orchestrator;
    private readonly ResourceServiceApi _resourceService = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly object _gate = new();
    private ConsoleReporter? _console;
    private ProcessLedger? _ledger;
    private Task _runners = Task.CompletedTask;
    private Task? _stopTask;
    private bool _started;

    public static IDistributedApplicationBuilder CreateBuilder() => CreateBuilder([]);

    public static IDistributedApplicationBuilder CreateBuilder(string[] args)
        => new DistributedApplicationBuilder(new DistributedApplicationOptions { Args = args });

    public static IDistributedApplicationBuilder CreateBuilder(DistributedApplicationOptions options)
        => new DistributedApplicationBuilder(options);

    internal DistributedApplication(DistributedApplicationBuilder builder)
    {
        _options = builder.Options;
        Resources = [.. builder.Resources];
        ExecutionContext = new DistributedApplicationExecutionContext(builder.DataDirectory, builder.AppHostDirectory, Resources)
        {
            Dashboard = Resources.OfType<DashboardResource>().FirstOrDefault(),
            OtlpApiKey = RandomHex(16),
            ResourceServiceApiKey = RandomHex(16),
            BrowserToken = builder.Configuration["AppHost:BrowserToken"] is { Length: > 0 } token ? token : RandomHex(16),
        };
        _orchestrator = new Orchestrator(_options, ExecutionContext, ResourceNotifications, ResourceLogs);
    }

    public IReadOnlyList<ProcessResource> Resources { get; }

    internal Orchestrator Orchestrator => _orchestrator;
    public DistributedApplicationExecutionContext ExecutionContext { get; }
    public ResourceNotificationService ResourceNotifications { get; } = new();
    public ResourceLoggerService ResourceLogs { get; } = new();
    public string DataDirectory => ExecutionContext.DataDirectory;

    /// <summary>Base URL of the resource service (after start).</summary>
    public string ResourceServiceUrl => _resourceService.Url;

    /// <summary>The dashboard's login URL with its browser token (after start), or null without a dashboard.</summary>
    public string? DashboardLoginUrl => ExecutionContext.Dashboard is { } d && _started
        ? $"{d.GetEndpoint(DashboardEndpoints.Http).Url}/login?t={ExecutionContext.BrowserToken}"
        : null;

    /// <summary>Time from start until every resource was first healthy, once that happened.</summary>
    public TimeSpan? AllHealthyAfter { get; private set; }

    /// <summary>The pid of the resource's process while it runs.</summary>
    public int? GetProcessId(string resourceName) => _orchestrator.Runner(resourceName)?.CurrentPid;

    /// <summary>Allocates ports, starts the resource service and launches every resource (each after its dependencies).</summary>
    public async Task StartAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate)
        {
            if (_started) throw new InvalidOperationException("The application has already been started.");
            _started = true;
        }
        var clock = Stopwatch.StartNew();
        Directory.CreateDirectory(DataDirectory);
        if (_options.EnableConsoleOutput) _console = new ConsoleReporter(Resources, ResourceNotifications, ResourceLogs, Console.Out);
        _console?.Info($"Data directory: {DataDirectory}");
        _ledger = ProcessLedger.Acquire(DataDirectory);
        _orchestrator.Ledger = _ledger;
        foreach (var leftover in _ledger.KillLeftovers())
            _console?.Info($"Ended {leftover}, left running by an earlier AppHost that did not stop cleanly");

        _orchestrator.AllocatePorts();
        await _resourceService.StartAsync(_orchestrator, ExecutionContext.ResourceServiceApiKey, cancellationToken);
        ExecutionContext.ResourceServiceUrl = _resourceService.Url;
        _console?.Info($"Resource service: {_resourceService.Url}/api/resources (header {ResourceServiceApi.ApiKeyHeader}: {ExecutionContext.ResourceServiceApiKey})");
        _orchestrator.PublishInitialStates();

        _runners = Task.WhenAll(_orchestrator.Runners.Select(r => Task.Run(() => r.RunAsync(_stopping.Token), CancellationToken.None)));

        if (DashboardLoginUrl is { } login) _console?.Info($"Login to the dashboard at {login}");
        foreach (var project in Resources.OfType<ProjectResource>())
            if (project.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == "http") is { } http)
                _console?.Info($"{project.Name}: {http.Url}");

        _ = ReportAllHealthyAsync(clock);
    }

    private async Task ReportAllHealthyAsync(Stopwatch clock)
    {
        try
        {
            await Task.WhenAll(Resources.Select(r => ResourceNotifications.WaitForResourceHealthyAsync(r.Name, _stopping.Token)));
            AllHealthyAfter = clock.Elapsed;
            _console?.Info(FormattableString.Invariant($"all resources healthy in {clock.Elapsed.TotalSeconds:0.00} s"));
        }
        catch (OperationCanceledException) { }
        catch (DistributedApplicationException ex) { _console?.Info(ex.Message); }
    }

    /// <summary>Stops every resource (SIGTERM, then SIGKILL of the whole tree after the grace period) and the resource service.</summary>
    public Task StopAsync(CancellationToken cancellationToken = default)
    {
        lock (_gate) _stopTask ??= StopCoreAsync();
        return _stopTask.WaitAsync(cancellationToken);
    }

    private async Task StopCoreAsync()
    {
        if (_started) _console?.Info("Stopping all resources");
        await _stopping.CancelAsync();
        await _runners;
        await _resourceService.DisposeAsync();
        _ledger?.Dispose();
        if (_started) _console?.Info("All resources stopped");
    }

    /// <summary>Starts, then runs until Ctrl+C / SIGTERM (or <paramref name="cancellationToken"/>), then stops everything.</summary>
    public async Task RunAsync(CancellationToken cancellationToken = default)
    {
        var shutdown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnSignal(PosixSignalContext ctx)
        {
            ctx.Cancel = true; // we stop the children ourselves, then return from Run
            shutdown.TrySetResult();
        }
        using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, OnSignal);
        using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, OnSignal);
        using var sigquit = PosixSignalRegistration.Create(PosixSignal.SIGQUIT, OnSignal);
        using var registration = cancellationToken.Register(() => shutdown.TrySetResult());
        try
        {
            await StartAsync(cancellationToken);
            await shutdown.Task;
        }
        finally
        {
            await StopAsync(CancellationToken.None);
        }
    }

    public void Run() => RunAsync().GetAwaiter().GetResult();

    public async ValueTask DisposeAsync()
    {
        await StopAsync(CancellationToken.None);
        _console?.Dispose();
        _orchestrator.Dispose();
        _stopping.Dispose();
        // Only a directory this app owned (it held the lock): never one another AppHost is using.
        if (_options.DeleteDataDirectoryOnDispose && _ledger is not null && Directory.Exists(DataDirectory))
        {
            try { Directory.Delete(DataDirectory, recursive: true); }
            catch (IOException) { }
            catch (UnauthorizedAccessException) { }
        }
    }

    public void Dispose() => DisposeAsync().AsTask().GetAwaiter().GetResult();

    private static string RandomHex(int bytes) => Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(bytes));
}
