namespace TestSupport;

/// <summary>
/// The real sidecar process (Platform.Sidecar.dll, a daprd stand-in) on free loopback ports. It can be killed (-9)
/// and restarted on the same ports and settings. The calling test project must reference Platform/Sidecar
/// (ReferenceOutputAssembly="false" is enough).
/// </summary>
public sealed class SidecarProcess : IAsyncDisposable
{
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly IReadOnlyList<string> _args;
    private readonly IDictionary<string, string?>? _environment;
    private readonly List<IDisposable> _owned = [];

    private SidecarProcess(SidecarSettings settings)
    {
        Settings = settings;
        HttpPort = settings.HttpPort ?? FreePort.Next();
        GrpcPort = settings.GrpcPort ?? FreePort.Next();
        _environment = settings.Environment;
        var args = new List<string>
        {
            "--app-id", settings.AppId,
            "--dapr-http-port", HttpPort.ToString(),
            "--dapr-grpc-port", GrpcPort.ToString(),
            "--dapr-listen-addresses", "127.0.0.1",
            "--app-protocol", settings.AppProtocol,
            "--app-channel-address", "127.0.0.1",
            "--scheduler-host-address", settings.SchedulerHostAddress ?? "",
            "--log-level", settings.LogLevel,
        };
        if (settings.AppPort is { } appPort) args.AddRange(["--app-port", appPort.ToString()]);
        if (settings.NameResolutionSqlite is { } registry) args.AddRange(["--name-resolution-sqlite", registry]);
        if (settings.Mtls)
        {
            string? ns = null;
            settings.Environment?.TryGetValue("NAMESPACE", out ns);
            InternalPort = FreePort.Next();
            args.AddRange(["--enable-mtls", "--dapr-internal-grpc-port", InternalPort.Value.ToString()]);
            args.AddRange(TestIdentity.Files(TestIdentity.App(settings.AppId, ns ?? "default")).Flags());
        }
        // Never daprd's default 9090: sidecars of tests running side by side would take it from each other.
        if (settings.ExtraArgs?.Any(a => a is "--metrics-port" or "--enable-metrics") != true) args.AddRange(["--metrics-port", FreePort.Next().ToString()]);
        args.AddRange(settings.ExtraArgs ?? []);
        _args = args;
    }

    public SidecarSettings Settings { get; }
    public string AppId => Settings.AppId;
    /// <summary>The Dapr HTTP API port (DAPR_HTTP_PORT).</summary>
    public int HttpPort { get; }
    /// <summary>The Dapr gRPC API port (DAPR_GRPC_PORT).</summary>
    public int GrpcPort { get; }
    /// <summary>The sidecar-to-sidecar port (mTLS); null without mTLS (the route is then on the HTTP port).</summary>
    public int? InternalPort { get; }
    /// <summary><c>http://127.0.0.1:&lt;http port&gt;</c> (DAPR_HTTP_ENDPOINT).</summary>
    public string HttpEndpoint => $"http://127.0.0.1:{HttpPort}";
    /// <summary><c>http://127.0.0.1:&lt;grpc port&gt;</c> (DAPR_GRPC_ENDPOINT), h2c.</summary>
    public string GrpcEndpoint => $"http://127.0.0.1:{GrpcPort}";
    public TestProcess Process { get; private set; } = null!;

    /// <summary>Starts the sidecar and waits (bounded) until <c>GET /v1.0/healthz</c> answers.</summary>
    public static async Task<SidecarProcess> StartAsync(SidecarSettings settings, TimeSpan? timeout = null)
    {
        for (var attempt = 1; ; attempt++)
        {
            var sidecar = new SidecarProcess(settings);
            try
            {
                await sidecar.LaunchAsync(timeout ?? TimeSpan.FromSeconds(30));
                return sidecar;
            }
            catch (Exception) when (attempt < 5 && settings is { HttpPort: null, GrpcPort: null }
                && sidecar.Process?.Output.Any(l => l.Contains("address already in use", StringComparison.OrdinalIgnoreCase)) == true)
            {
                // Another test took one of the free ports between asking and binding: start again on new ones.
                await sidecar.DisposeAsync();
            }
            catch
            {
                await sidecar.DisposeAsync();
                throw;
            }
        }
    }

    /// <summary>Ends the process with SIGKILL, as a crash would.</summary>
    public Task KillAsync() => Process.KillAsync();

    /// <summary>SIGTERM and wait for a clean exit; returns the exit code.</summary>
    public Task<int> StopAsync(TimeSpan? timeout = null) => Process.StopAsync(timeout ?? TimeSpan.FromSeconds(15));

    /// <summary>Kills the running process if any, then starts it again on the same ports and settings.</summary>
    public async Task RestartAsync(TimeSpan? timeout = null)
    {
        await Process.DisposeAsync();
        await LaunchAsync(timeout ?? TimeSpan.FromSeconds(30));
    }

    /// <summary>Waits until the sidecar reports a live job stream to the scheduler (metadata scheduler.connected_addresses).</summary>
    public async Task WaitForSchedulerStreamAsync(TimeSpan? timeout = null)
    {
        var limit = timeout ?? TimeSpan.FromSeconds(30);
        var deadline = DateTime.UtcNow + limit;
        string? token = null;
        _environment?.TryGetValue("DAPR_API_TOKEN", out token);
        while (true)
        {
            try
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"{HttpEndpoint}/v1.0/metadata");
                if (!string.IsNullOrEmpty(token)) request.Headers.Add("dapr-api-token", token);
                using var response = await Http.SendAsync(request);
                if (response.IsSuccessStatusCode)
                {
                    using var doc = System.Text.Json.JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                    if (doc.RootElement.TryGetProperty("scheduler", out var scheduler)
                        && scheduler.TryGetProperty("connected_addresses", out var addresses) && addresses.GetArrayLength() > 0)
                        return;
                }
            }
            catch (HttpRequestException) { }
            catch (TaskCanceledException) { }
            if (Process.HasExited || DateTime.UtcNow > deadline)
                throw new TimeoutException($"sidecar {AppId}: no scheduler stream within {limit}:" + Environment.NewLine + string.Join(Environment.NewLine, Process.Output.TakeLast(40)));
            // The metadata API is the only readiness signal for the stream; poll it.
            await Task.Delay(100);
        }
    }

    private async Task LaunchAsync(TimeSpan timeout)
    {
        var dll = RepoPaths.ProjectOutput("Platform/Sidecar", "Platform.Sidecar");
        Process = TestProcess.StartDotnet($"sidecar-{Settings.AppId}", dll, _args, _environment);
        await Process.WaitForHealthyAsync(Http, $"{HttpEndpoint}/v1.0/healthz", timeout);
        // A healthz answer proves only that something serves the HTTP port: the sidecar's other ports may still fail to
        // bind (address in use), or another test's process may hold the HTTP port. The start-up line is logged once
        // this process has bound every port (seen beside a CPU burner: healthz answered, then the gRPC bind failed).
        if (Settings.LogLevel is "info" or "debug")
            await Process.WaitForOutputAsync(l => l.Contains($"Sidecar for app {Settings.AppId} (", StringComparison.Ordinal) && l.Contains(" listening: ", StringComparison.Ordinal), timeout);
    }

    /// <summary>Ties a client of this sidecar (a gRPC channel, an HttpClient) to it: disposed with the sidecar.</summary>
    public T Owns<T>(T client) where T : IDisposable
    {
        lock (_owned) _owned.Add(client);
        return client;
    }

    public async ValueTask DisposeAsync()
    {
        lock (_owned)
        {
            foreach (var client in _owned) client.Dispose();
            _owned.Clear();
        }
        if (Process is not null) await Process.DisposeAsync();
    }
}

/// <summary>How to start a <see cref="SidecarProcess"/>; unset ports are chosen free.</summary>
public sealed record SidecarSettings(string AppId)
{
    /// <summary>The app's port; null = no app (triggers fail with "app channel not initialized", as daprd).</summary>
    public int? AppPort { get; init; }
    /// <summary>"http" (POST /job/&lt;name&gt;) or "grpc" (AppCallback.OnJobEvent).</summary>
    public string AppProtocol { get; init; } = "http";
    /// <summary>host:port list (comma separated) of scheduler replicas; null or "" = no scheduler.</summary>
    public string? SchedulerHostAddress { get; init; }
    /// <summary>Shared SQLite registry file for service invocation (same file for every sidecar that should find each other).</summary>
    public string? NameResolutionSqlite { get; init; }
    public int? HttpPort { get; init; }
    public int? GrpcPort { get; init; }
    public string LogLevel { get; init; } = "info";
    /// <summary>E.g. DAPR_API_TOKEN, APP_API_TOKEN, NAMESPACE, OTEL_*.</summary>
    public IDictionary<string, string?>? Environment { get; init; }
    public IReadOnlyList<string>? ExtraArgs { get; init; }
    /// <summary>daprd's --enable-mtls with a certificate for the app id from <see cref="TestIdentity"/> (the default).</summary>
    public bool Mtls { get; init; } = true;
}
