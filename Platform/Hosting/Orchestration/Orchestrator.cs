using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Platform.Hosting.Orchestration;

/// <summary>Owns the runners of one application and what they share: ports, environment rules, state, logs.</summary>
internal sealed class Orchestrator
{
    private readonly Dictionary<string, ResourceRunner> _runners;
    private readonly HttpClient _healthClient;

    public Orchestrator(DistributedApplicationOptions options, DistributedApplicationExecutionContext context,
        ResourceNotificationService notifications, ResourceLoggerService logs)
    {
        Options = options;
        Context = context;
        Notifications = notifications;
        Logs = logs;
        Time = options.TimeProvider;
        _runners = context.Resources.ToDictionary(r => r.Name, r => new ResourceRunner(r, this), StringComparer.OrdinalIgnoreCase);
        _healthClient = new HttpClient(new SocketsHttpHandler { UseProxy = false, PooledConnectionLifetime = TimeSpan.FromSeconds(30) })
        {
            Timeout = Timeout.InfiniteTimeSpan,
        };
    }

    public DistributedApplicationOptions Options { get; }
    public DistributedApplicationExecutionContext Context { get; }
    public ResourceNotificationService Notifications { get; }
    public ResourceLoggerService Logs { get; }
    public TimeProvider Time { get; }
    public IReadOnlyCollection<ResourceRunner> Runners => _runners.Values;

    /// <summary>Record of the processes running now, for cleanup after an AppHost crash (null when not started).</summary>
    public ProcessLedger? Ledger { get; set; }

    public ResourceRunner? Runner(string name) => _runners.GetValueOrDefault(name);

    /// <summary>Gives every endpoint without a fixed port a free loopback port, distinct within the application.</summary>
    public void AllocatePorts()
    {
        var taken = new HashSet<int>();
        foreach (var endpoint in Context.Resources.SelectMany(r => r.Annotations.OfType<EndpointAnnotation>()))
        {
            if (endpoint.Port is { } fixedPort)
            {
                endpoint.AllocatedPort = fixedPort;
                taken.Add(fixedPort);
                continue;
            }
            int port;
            do port = NextFreePort(); while (!taken.Add(port));
            endpoint.AllocatedPort = port;
        }
    }

    private static int NextFreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    public void PublishInitialStates()
    {
        foreach (var resource in Context.Resources)
            Notifications.Publish(resource, _ => new ResourceSnapshot
            {
                ResourceType = resource.ResourceType,
                Parent = resource.Parent?.Name,
                Urls = resource.Annotations.OfType<EndpointAnnotation>().Select(e => new ResourceUrl(e.Name, e.Url)).ToList(),
            });
    }

    public void Publish(IResource resource, Func<ResourceSnapshot, ResourceSnapshot> update)
        => Notifications.Publish(resource, s => update(s ?? new ResourceSnapshot { ResourceType = ((ProcessResource)resource).ResourceType }));

    public void Log(IResource resource, bool isError, string text) => Logs.Append(resource.Name, isError, text, Time.GetUtcNow().UtcDateTime);

    public Func<CancellationToken, Task<bool>>? HealthCheckFor(ProcessResource resource)
    {
        var checks = new List<Func<CancellationToken, Task<bool>>>();
        foreach (var http in resource.Annotations.OfType<HttpHealthCheckAnnotation>())
        {
            var url = resource.GetEndpoint(http.EndpointName).Url.TrimEnd('/') + "/" + http.Path.TrimStart('/');
            checks.Add(HealthProbe.Http(_healthClient, url, http.StatusCode));
        }
        checks.AddRange(resource.Annotations.OfType<DelegateHealthCheckAnnotation>().Select(d => d.Check));
        if (checks.Count == 0) return null;
        return async ct =>
        {
            foreach (var check in checks)
                if (!await check(ct)) return false;
            return true;
        };
    }

    /// <summary>The environment a resource gets, on top of the AppHost's own (which children inherit, as with Aspire).</summary>
    public IDictionary<string, string> BuildEnvironment(ProcessResource resource)
    {
        var ctx = new EnvironmentCallbackContext(resource, Context);
        var env = ctx.EnvironmentVariables;
        foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>())
            if (endpoint.Env is { } name) env[name] = endpoint.AllocatedPort!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture);

        if (resource is ProjectResource)
        {
            if (resource.Annotations.OfType<EndpointAnnotation>().FirstOrDefault(e => e.Name == "http") is { } http)
                env["ASPNETCORE_URLS"] = http.Url;
            env["ASPNETCORE_ENVIRONMENT"] = "Development";
        }

        if (Context.Dashboard is { } dashboard && resource is not DashboardResource and not ExecutableResource)
        {
            env["OTEL_EXPORTER_OTLP_ENDPOINT"] = dashboard.GetEndpoint(DashboardEndpoints.OtlpGrpc).Url;
            env["OTEL_EXPORTER_OTLP_PROTOCOL"] = "grpc";
            env["OTEL_EXPORTER_OTLP_HEADERS"] = $"x-otlp-api-key={Context.OtlpApiKey}";
            // Replicas are instances of one service, as Aspire reports them.
            env["OTEL_SERVICE_NAME"] = ((resource as ProjectResource)?.ReplicaOf ?? resource).Name;
            env["OTEL_RESOURCE_ATTRIBUTES"] = $"service.instance.id={resource.Name}";
            env["OTEL_BSP_SCHEDULE_DELAY"] = "1000";
            env["OTEL_BLRP_SCHEDULE_DELAY"] = "1000";
            env["OTEL_METRIC_EXPORT_INTERVAL"] = "1000";
            env["OTEL_TRACES_SAMPLER"] = "always_on";
        }

        foreach (var reference in resource.Annotations.OfType<ResourceReferenceAnnotation>())
        {
            var instances = Context.Resources.Where(r => ReferenceEquals(r, reference.Resource)
                || (r is ProjectResource p && ReferenceEquals(p.ReplicaOf, reference.Resource))).ToList();
            for (var i = 0; i < instances.Count; i++)
                foreach (var endpoint in instances[i].Annotations.OfType<EndpointAnnotation>())
                    env[string.Create(System.Globalization.CultureInfo.InvariantCulture, $"services__{reference.Resource.Name}__{endpoint.Name}__{i}")] = endpoint.Url;
        }

        foreach (var callback in resource.Annotations.OfType<EnvironmentCallbackAnnotation>()) callback.Callback(ctx);
        return env;
    }

    public IList<string> BuildArgs(ProcessResource resource)
    {
        var ctx = new CommandLineArgsCallbackContext(resource, Context);
        foreach (var a in resource.BaseArgs) ctx.Args.Add(a);
        foreach (var callback in resource.Annotations.OfType<CommandLineArgsCallbackAnnotation>()) callback.Callback(ctx);
        return ctx.Args;
    }

    public LaunchedProcess Launch(ProcessResource resource)
    {
        if (!Directory.Exists(resource.WorkingDirectory))
            throw new InvalidOperationException($"working directory '{resource.WorkingDirectory}' does not exist");
        var command = ResolveCommand(resource.Command, resource.WorkingDirectory)
            ?? throw new InvalidOperationException($"command '{resource.Command}' not found");
        var env = BuildEnvironment(resource);
        var args = BuildArgs(resource);

        var setsid = ProcessTree.SetsidPath;
        var psi = new ProcessStartInfo(setsid ?? command)
        {
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            WorkingDirectory = resource.WorkingDirectory,
        };
        if (setsid is not null) psi.ArgumentList.Add(command);
        foreach (var a in args) psi.ArgumentList.Add(a);
        foreach (var (k, v) in env) psi.Environment[k] = v;

        var process = new Process { StartInfo = psi, EnableRaisingEvents = true };
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) Log(resource, false, e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) Log(resource, true, e.Data); };
        if (!process.Start()) throw new InvalidOperationException($"'{command}' did not start");
        Ledger?.Started(process.Id, resource.Name);
        process.StandardInput.Close();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new LaunchedProcess(process, setsid is not null,
            env.Select(kv => new EnvironmentVariableSnapshot(kv.Key, kv.Value)).ToList());
    }

    private static string? ResolveCommand(string command, string workingDirectory)
    {
        // Start .NET apps with the same host that runs the AppHost (dotnet test / dotnet run set DOTNET_HOST_PATH).
        if (command == "dotnet")
        {
            if (System.Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host && File.Exists(host)) return host;
            if (System.Environment.ProcessPath is { } self && Path.GetFileNameWithoutExtension(self) == "dotnet") return self;
        }
        if (command.Contains('/')) return File.Exists(Path.GetFullPath(command, workingDirectory)) ? Path.GetFullPath(command, workingDirectory) : null;
        foreach (var dir in (System.Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, command);
            if (File.Exists(candidate)) return candidate;
        }
        return null;
    }

    public void Dispose() => _healthClient.Dispose();
}
