using Platform.Jobs;
using TestSupport;

namespace BackupWorker.Tests;

/// <summary>
/// The backup application as the AppHost runs it, from build outputs: a scheduler, BackupWorker and BackupApi each
/// beside its own sidecar (sidecars find each other through one shared registry file), with the environment the
/// AppHost gives (DAPR_* ports and endpoints, APP_PORT, ASPNETCORE_URLS, configuration as Section__Key).
/// </summary>
public sealed class AppStack : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> _owned = [];
    private bool _withTokens;
    private Dictionary<string, string?> _workerEnvironment = [];

    public const string DaprApiToken = "stack-dapr-token";
    public const string AppApiToken = "stack-app-token";

    private Dictionary<string, string?>? Tokens => _withTokens
        ? new() { ["DAPR_API_TOKEN"] = DaprApiToken, ["APP_API_TOKEN"] = AppApiToken }
        : null;

    private AppStack(string root) => Root = root;

    public string Root { get; }
    public string DataDirectory => Path.Combine(Root, "worker-data");
    public SchedulerProcess Scheduler { get; private set; } = null!;
    public SidecarProcess WorkerSidecar { get; private set; } = null!;
    public SidecarProcess ApiSidecar { get; private set; } = null!;
    public TestProcess Worker { get; private set; } = null!;
    public TestProcess Api { get; private set; } = null!;
    public HttpClient ApiClient { get; private set; } = null!;

    /// <summary>The port BackupWorker itself listens on (behind the app token).</summary>
    public int WorkerPort { get; private set; }

    /// <summary>BackupApi's operator key, as the AppHost's secret parameter gives it.</summary>
    public const string OperatorKey = "stack-operator-key-0123456789";

    /// <param name="workerSettings">Extra configuration of BackupWorker (e.g. <c>Demo__Enabled</c>).</param>
    /// <param name="workerBeforeSidecar">Start the worker before its sidecar is up (the AppHost does not order them).</param>
    /// <param name="withTokens">Give sidecars and apps DAPR_API_TOKEN and APP_API_TOKEN, as a secured deployment would.</param>
    /// <param name="apiSettings">Extra configuration of BackupApi (e.g. <c>BackupApi__WorkerTimeout</c>).</param>
    public static async Task<AppStack> StartAsync(IDictionary<string, string?>? workerSettings = null, bool workerBeforeSidecar = false, bool withTokens = false,
        IDictionary<string, string?>? apiSettings = null)
    {
        var stack = new AppStack(Directory.CreateTempSubdirectory("backup-stack-").FullName) { _withTokens = withTokens };
        try
        {
            await stack.LaunchAsync(workerSettings ?? new Dictionary<string, string?>(), workerBeforeSidecar, apiSettings ?? new Dictionary<string, string?>());
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
        return stack;
    }

    private async Task LaunchAsync(IDictionary<string, string?> workerSettings, bool workerBeforeSidecar, IDictionary<string, string?> apiSettings)
    {
        var registry = Path.Combine(Root, "name-resolution.db");
        Scheduler = await SchedulerProcess.StartAsync(Path.Combine(Root, "scheduler"));
        _owned.Add(Scheduler);
        Directory.CreateDirectory(Scheduler.DataDir);

        var workerPort = WorkerPort = FreePort.Next();
        var workerSidecarSettings = new SidecarSettings("backupworker")
        {
            AppPort = workerPort, SchedulerHostAddress = Scheduler.HostAddress, NameResolutionSqlite = registry,
            HttpPort = FreePort.Next(), GrpcPort = FreePort.Next(), Environment = Tokens,
        };
        var workerEnv = AppEnvironment(workerPort, workerSidecarSettings.HttpPort!.Value, workerSidecarSettings.GrpcPort!.Value);
        workerEnv["Backup__DataDirectory"] = DataDirectory;
        foreach (var (k, v) in workerSettings) workerEnv[k] = v;
        workerEnv.TryAdd("Demo__Enabled", "false");
        _workerEnvironment = workerEnv;

        if (workerBeforeSidecar)
        {
            Worker = StartApp("backupworker", "BackupWorker", workerEnv);
            await Worker.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }
        WorkerSidecar = await SidecarProcess.StartAsync(workerSidecarSettings);
        _owned.Add(WorkerSidecar);
        if (!workerBeforeSidecar)
        {
            Worker = StartApp("backupworker", "BackupWorker", workerEnv);
            await Worker.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        }

        var apiPort = FreePort.Next();
        ApiSidecar = await SidecarProcess.StartAsync(new SidecarSettings("backupapi")
        {
            AppPort = apiPort, SchedulerHostAddress = Scheduler.HostAddress, NameResolutionSqlite = registry, Environment = Tokens,
        });
        _owned.Add(ApiSidecar);
        var apiEnvironment = AppEnvironment(apiPort, ApiSidecar.HttpPort, ApiSidecar.GrpcPort);
        apiEnvironment["BackupApi__ApiKey"] = OperatorKey;
        foreach (var (k, v) in apiSettings) apiEnvironment[k] = v;
        Api = StartApp("backupapi", "BackupApi", apiEnvironment);
        await Api.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
        ApiClient = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{apiPort}"), Timeout = TimeSpan.FromSeconds(60) };
        ApiClient.DefaultRequestHeaders.Add("X-Api-Key", OperatorKey);
    }

    /// <summary>Ends the worker with SIGKILL, as a crash would, and starts it again with the same settings.</summary>
    public async Task KillAndRestartWorkerAsync()
    {
        await Worker.KillAsync();
        Worker = StartApp("backupworker", "BackupWorker", _workerEnvironment);
        await Worker.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
    }

    private TestProcess StartApp(string name, string project, IDictionary<string, string?> environment)
    {
        var process = TestProcess.StartDotnet(name, RepoPaths.ProjectOutput(project, project), [], environment);
        _owned.Add(process);
        return process;
    }

    private Dictionary<string, string?> AppEnvironment(int appPort, int daprHttpPort, int daprGrpcPort)
    {
        var environment = BaseEnvironment(appPort, daprHttpPort, daprGrpcPort);
        foreach (var (k, v) in Tokens ?? []) environment[k] = v;
        return environment;
    }

    private static Dictionary<string, string?> BaseEnvironment(int appPort, int daprHttpPort, int daprGrpcPort) => new()
    {
        ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{appPort}",
        ["ASPNETCORE_ENVIRONMENT"] = "Development",
        ["APP_PORT"] = appPort.ToString(),
        ["DAPR_HTTP_PORT"] = daprHttpPort.ToString(),
        ["DAPR_GRPC_PORT"] = daprGrpcPort.ToString(),
        ["DAPR_HTTP_ENDPOINT"] = $"http://127.0.0.1:{daprHttpPort}",
        ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{daprGrpcPort}",
        ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
    };

    /// <summary>Waits until the worker has logged <paramref name="count"/> lines matching (past lines count too).</summary>
    public Task WaitForWorkerLinesAsync(Func<string, bool> match, int count, TimeSpan timeout)
    {
        // Distinct lines (each names its run id): a line seen both in the past-lines scan and as it arrives counts once.
        var seen = new HashSet<string>();
        return Worker.WaitForOutputAsync(l => match(l) && seen.Add(l) && seen.Count >= count, timeout);
    }

    /// <summary>A Jobs API client on the worker's sidecar, as the worker itself uses it (dispose it).</summary>
    public DaprJobsClient WorkerJobsClient() =>
        new DaprJobsClientBuilder().UseGrpcEndpoint(WorkerSidecar.GrpcEndpoint).UseDaprApiToken(_withTokens ? DaprApiToken : null).Build();

    /// <summary>
    /// Waits (bounded) until the scheduler no longer holds the worker's job <paramref name="name"/>. It deletes a job once
    /// its repeats and retries are used up, after the last trigger's answer: from then on no trigger of it can come, so
    /// a count of runs read afterwards is final, where one read right after the Nth run would miss an (N+1)th.
    /// </summary>
    public async Task WaitForJobGoneAsync(string name, TimeSpan timeout)
    {
        using var jobs = WorkerJobsClient();
        await Poll.UntilAsync(async () =>
        {
            try
            {
                await jobs.GetJobAsync(name);
                return false;
            }
            catch (DaprJobsException e) when (e.IsJobNotFound)
            {
                return true;
            }
        }, timeout, $"job {name} gone");
    }

    public async ValueTask DisposeAsync()
    {
        ApiClient?.Dispose();
        for (var i = _owned.Count - 1; i >= 0; i--) await _owned[i].DisposeAsync();
        try { Directory.Delete(Root, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
