namespace TestSupport;

/// <summary>
/// The real scheduler process (Platform.Scheduler.dll) on free loopback ports with its own data directory.
/// It can be killed (-9) and restarted on the same directory and ports, to test durability.
/// The calling test project must reference Platform/Scheduler (ReferenceOutputAssembly="false" is enough).
/// </summary>
public sealed class SchedulerProcess : IAsyncDisposable
{
    private readonly bool _ownsDataDir;
    private readonly IReadOnlyList<string> _extraArgs;
    private readonly IDictionary<string, string?>? _environment;
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };

    private SchedulerProcess(string dataDir, bool ownsDataDir, IReadOnlyList<string> extraArgs, IDictionary<string, string?>? environment, bool mtls)
    {
        DataDir = dataDir;
        _ownsDataDir = ownsDataDir;
        Mtls = mtls;
        // The scheduler's own identity from the tests' authority, or the documented opt-out.
        _extraArgs = [.. mtls ? TestIdentity.Files(Platform.Security.SpiffeId.Scheduler()).Flags() : ["--tls-enabled=false"], .. extraArgs];
        _environment = environment;
        Port = FreePort.Next();
        HealthzPort = FreePort.Next();
    }

    /// <summary>gRPC port: mTLS, or h2c when started with mtls: false.</summary>
    public int Port { get; private set; }
    /// <summary>Whether the gRPC port speaks mTLS (the default; clients need a <see cref="TestIdentity"/>).</summary>
    public bool Mtls { get; }
    public int HealthzPort { get; private set; }
    public string DataDir { get; }
    /// <summary>For GrpcChannel.ForAddress: <c>https://127.0.0.1:&lt;port&gt;</c> (<c>http</c> without mTLS).</summary>
    public string GrpcAddress => $"{(Mtls ? "https" : "http")}://127.0.0.1:{Port}";
    /// <summary>For a sidecar's <c>--scheduler-host-address</c>: <c>127.0.0.1:&lt;port&gt;</c>.</summary>
    public string HostAddress => $"127.0.0.1:{Port}";
    public TestProcess Process { get; private set; } = null!;

    /// <summary>Starts the scheduler and waits (bounded) until /healthz answers 200.</summary>
    /// <param name="dataDir">An existing directory to use (kept on dispose); null = a fresh temp dir deleted on dispose.</param>
    /// <param name="mtls">false starts it with <c>--tls-enabled=false</c>: only for a test of that opt-out.</param>
    public static async Task<SchedulerProcess> StartAsync(string? dataDir = null, IEnumerable<string>? extraArgs = null,
        IDictionary<string, string?>? environment = null, TimeSpan? timeout = null, bool mtls = true)
    {
        var owns = dataDir is null;
        dataDir ??= Directory.CreateTempSubdirectory("scheduler-test-").FullName;
        var scheduler = new SchedulerProcess(dataDir, owns, extraArgs?.ToList() ?? [], environment, mtls);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await scheduler.LaunchAsync(timeout ?? TimeSpan.FromSeconds(30));
                    break;
                }
                catch (InvalidOperationException) when (attempt < 5 && scheduler.Process.Output.Any(l => l.Contains("address already in use")))
                {
                    // Another test took one of the free ports between asking and binding: take new ones.
                    await scheduler.Process.DisposeAsync();
                    scheduler.Port = FreePort.Next();
                    scheduler.HealthzPort = FreePort.Next();
                }
            }
        }
        catch
        {
            await scheduler.DisposeAsync();
            throw;
        }
        return scheduler;
    }

    /// <summary>Ends the process with SIGKILL, as a crash would. The data directory stays.</summary>
    public Task KillAsync() => Process.KillAsync();

    /// <summary>SIGTERM and wait for a clean exit; returns the exit code.</summary>
    public Task<int> StopAsync(TimeSpan? timeout = null) => Process.StopAsync(timeout ?? TimeSpan.FromSeconds(15));

    /// <summary>Kills the running process if any, then starts it again on the same ports and data directory.</summary>
    public async Task RestartAsync(TimeSpan? timeout = null)
    {
        await Process.DisposeAsync();
        await LaunchAsync(timeout ?? TimeSpan.FromSeconds(30));
    }

    private async Task LaunchAsync(TimeSpan timeout)
    {
        var dll = RepoPaths.ProjectOutput("Platform/Scheduler", "Platform.Scheduler");
        string[] args =
        [
            "--port", Port.ToString(), "--healthz-port", HealthzPort.ToString(), "--listen-address", "127.0.0.1",
            "--data-dir", DataDir, .. _extraArgs,
        ];
        Process = TestProcess.StartDotnet("scheduler", dll, args, _environment);
        await Process.WaitForHealthyAsync(Http, $"http://127.0.0.1:{HealthzPort}/healthz", timeout);
    }

    public async ValueTask DisposeAsync()
    {
        if (Process is not null) await Process.DisposeAsync();
        if (_ownsDataDir)
        {
            try { Directory.Delete(DataDir, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}
