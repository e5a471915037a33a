using Platform.Hosting;
using Platform.Hosting.Testing;

namespace AppHost.Tests;

/// <summary>What each process is given: ports, the Dapr integration's env, OTLP to the dashboard, service discovery, flags.</summary>
public sealed class EnvironmentTests
{
    private static (DistributedApplication App, IDistributedApplicationTestingBuilder Builder) BuildModel()
    {
        var builder = DistributedApplicationTestingBuilder.Create([], o =>
        {
            o.AppHostAssembly = TestHelpers.AppHostAssembly;
            o.DisableDashboard = false;
        });
        var scheduler = builder.AddDaprScheduler("scheduler");
        var worker = builder.AddProject("backupworker", new FakeProject("Worker"))
            .WithDaprSidecar(new DaprSidecarOptions { AppId = "backupworker", AppProtocol = "http" })
            .WaitFor(scheduler);
        builder.AddProject("backupapi", new FakeProject("Api"))
            .WithDaprSidecar("backupapi")
            .WithReference(worker)
            .WaitFor(worker)
            .WithEnvironment("Custom__Setting", "42");
        var app = builder.Build();
        app.Orchestrator.AllocatePorts();
        return (app, builder);
    }

    private static string Url(DistributedApplication app, string resource, string endpoint)
        => app.Resources.Single(r => r.Name == resource).GetEndpoint(endpoint).Url;

    private static string Port(DistributedApplication app, string resource, string endpoint)
        => new Uri(Url(app, resource, endpoint)).Port.ToString(System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task An_app_with_a_sidecar_gets_the_Dapr_OTLP_and_service_discovery_environment()
    {
        var (app, builder) = BuildModel();
        await using var _ = builder;
        var api = app.Resources.Single(r => r.Name == "backupapi");
        var env = app.Orchestrator.BuildEnvironment(api);

        Assert.Equal(Port(app, "backupapi-dapr", "http"), env["DAPR_HTTP_PORT"]);
        Assert.Equal(Port(app, "backupapi-dapr", "grpc"), env["DAPR_GRPC_PORT"]);
        Assert.Equal(Url(app, "backupapi-dapr", "http"), env["DAPR_HTTP_ENDPOINT"]);
        Assert.Equal(Url(app, "backupapi-dapr", "grpc"), env["DAPR_GRPC_ENDPOINT"]);
        Assert.Equal(Port(app, "backupapi", "http"), env["APP_PORT"]);
        Assert.Equal(Url(app, "backupapi", "http"), env["ASPNETCORE_URLS"]);
        Assert.Equal("Development", env["ASPNETCORE_ENVIRONMENT"]);
        Assert.Equal(Url(app, "backupworker", "http"), env["services__backupworker__http__0"]);
        Assert.Equal(Url(app, "dashboard", "otlp-grpc"), env["OTEL_EXPORTER_OTLP_ENDPOINT"]);
        Assert.Equal("grpc", env["OTEL_EXPORTER_OTLP_PROTOCOL"]);
        Assert.Equal($"x-otlp-api-key={app.ExecutionContext.OtlpApiKey}", env["OTEL_EXPORTER_OTLP_HEADERS"]);
        Assert.Equal("backupapi", env["OTEL_SERVICE_NAME"]);
        Assert.Equal("service.instance.id=backupapi", env["OTEL_RESOURCE_ATTRIBUTES"]);
        Assert.Equal("1000", env["OTEL_BSP_SCHEDULE_DELAY"]);
        Assert.Equal("1000", env["OTEL_BLRP_SCHEDULE_DELAY"]);
        Assert.Equal("1000", env["OTEL_METRIC_EXPORT_INTERVAL"]);
        Assert.Equal("42", env["Custom__Setting"]);
        Assert.All(app.Resources.SelectMany(r => r.Annotations.OfType<EndpointAnnotation>()),
            e => Assert.StartsWith("http://127.0.0.1:", e.Url, StringComparison.Ordinal));
        var ports = app.Resources.SelectMany(r => r.Annotations.OfType<EndpointAnnotation>()).Select(e => e.AllocatedPort).ToList();
        Assert.Equal(ports.Count, ports.Distinct().Count());
    }

    [Fact]
    public async Task The_sidecar_gets_daprd_flags_pointing_at_its_app_the_scheduler_and_the_shared_registry()
    {
        var (app, builder) = BuildModel();
        await using var _ = builder;
        var sidecar = app.Resources.Single(r => r.Name == "backupworker-dapr");
        var args = app.Orchestrator.BuildArgs(sidecar);
        string Flag(string name) => args[args.IndexOf(name) + 1];

        Assert.Equal("DaprSidecar", sidecar.ResourceType);
        Assert.EndsWith("Platform.Sidecar.dll", args[0], StringComparison.Ordinal);
        Assert.Equal("backupworker", Flag("--app-id"));
        Assert.Equal(Port(app, "backupworker", "http"), Flag("--app-port"));
        Assert.Equal("http", Flag("--app-protocol"));
        Assert.Equal("127.0.0.1", Flag("--app-channel-address"));
        Assert.Equal(Port(app, "backupworker-dapr", "http"), Flag("--dapr-http-port"));
        Assert.Equal(Port(app, "backupworker-dapr", "grpc"), Flag("--dapr-grpc-port"));
        Assert.Equal($"127.0.0.1:{Port(app, "scheduler", "grpc")}", Flag("--scheduler-host-address"));
        Assert.Equal(Path.Combine(app.DataDirectory, "nameresolution.db"), Flag("--name-resolution-sqlite"));
        Assert.Equal(Flag("--name-resolution-sqlite"),
            app.Orchestrator.BuildArgs(app.Resources.Single(r => r.Name == "backupapi-dapr")) is var other ? other[other.IndexOf("--name-resolution-sqlite") + 1] : null);
        Assert.Equal("backupworker", sidecar.Parent?.Name);

        var env = app.Orchestrator.BuildEnvironment(sidecar);
        Assert.Equal("backupworker-dapr", env["OTEL_SERVICE_NAME"]);
    }

    [Fact]
    public async Task The_scheduler_gets_Dapr_scheduler_flags_and_a_data_dir_under_the_data_directory()
    {
        var (app, builder) = BuildModel();
        await using var _ = builder;
        var args = app.Orchestrator.BuildArgs(app.Resources.Single(r => r.Name == "scheduler"));
        string Flag(string name) => args[args.IndexOf(name) + 1];

        Assert.EndsWith("Platform.Scheduler.dll", args[0], StringComparison.Ordinal);
        Assert.Equal(Port(app, "scheduler", "grpc"), Flag("--port"));
        Assert.Equal(Port(app, "scheduler", "healthz"), Flag("--healthz-port"));
        Assert.Equal("127.0.0.1", Flag("--listen-address"));
        Assert.Equal(Path.Combine(app.DataDirectory, "scheduler"), Flag("--data-dir"));
    }

    [Fact]
    public async Task The_dashboard_gets_its_endpoints_keys_and_the_resource_service()
    {
        var (app, builder) = BuildModel();
        await using var _ = builder;
        var env = app.Orchestrator.BuildEnvironment(app.Resources.Single(r => r.Name == "dashboard"));

        Assert.Equal(Url(app, "dashboard", "http"), env["ASPNETCORE_URLS"]);
        Assert.Equal(Url(app, "dashboard", "otlp-grpc"), env["Dashboard__Otlp__GrpcEndpointUrl"]);
        Assert.Equal(Url(app, "dashboard", "otlp-http"), env["Dashboard__Otlp__HttpEndpointUrl"]);
        Assert.Equal(app.ExecutionContext.OtlpApiKey, env["Dashboard__Otlp__PrimaryApiKey"]);
        Assert.Matches("^[0-9a-f]{32}$", env["Dashboard__Frontend__BrowserToken"]);
        Assert.Equal(app.ExecutionContext.ResourceServiceApiKey, env["Dashboard__ResourceServiceApiKey"]);
        Assert.Equal(Url(app, "scheduler", "grpc"), env["Dashboard__SchedulerAddress"]);
        Assert.False(env.ContainsKey("OTEL_EXPORTER_OTLP_ENDPOINT"));
    }

    [Fact]
    public async Task Apps_wait_for_their_sidecar_and_sidecars_start_at_once()
    {
        var (app, builder) = BuildModel();
        await using var _ = builder;
        IEnumerable<string> WaitsOf(string name) => app.Resources.Single(r => r.Name == name).Annotations.OfType<WaitAnnotation>().Select(w => w.Resource.Name);

        Assert.Equal(["backupworker-dapr", "scheduler"], WaitsOf("backupworker").Order());
        Assert.Empty(WaitsOf("backupworker-dapr"));
        Assert.Equal(["backupapi-dapr", "backupworker"], WaitsOf("backupapi").Order());
        Assert.Empty(WaitsOf("backupapi-dapr"));
    }

    [Fact]
    public async Task AppHost_Ports_fixes_the_http_port_of_a_resource()
    {
        await using var builder = DistributedApplicationTestingBuilder.Create(["--AppHost:Ports:web=18123"]);
        builder.AddShell("web", "exec sleep 600").WithHttpEndpoint(env: "PORT");
        builder.AddShell("other", "exec sleep 600").WithHttpEndpoint();
        var app = builder.Build();
        app.Orchestrator.AllocatePorts();

        Assert.Equal("http://127.0.0.1:18123", app.Resources.Single(r => r.Name == "web").GetEndpoint("http").Url);
        Assert.Equal("18123", app.Orchestrator.BuildEnvironment(app.Resources.Single(r => r.Name == "web"))["PORT"]);
        Assert.NotEqual(18123, app.Resources.Single(r => r.Name == "other").GetEndpoint("http").AllocatedPort);
    }

    [Fact]
    public async Task AppHost_Ports_naming_an_unknown_resource_is_an_error()
    {
        await using var builder = DistributedApplicationTestingBuilder.Create(["--AppHost:Ports:nobody=18124"]);
        builder.AddShell("web", "exec sleep 600");
        var ex = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains("no resource named 'nobody'", ex.Message);
    }

    [Fact]
    public async Task Replicas_get_their_own_ports_and_sidecars_under_one_app_id_and_are_all_referenced()
    {
        await using var builder = DistributedApplicationTestingBuilder.Create([], o =>
        {
            o.AppHostAssembly = TestHelpers.AppHostAssembly;
            o.DisableDashboard = false;
        });
        var worker = builder.AddProject("backupworker", new FakeProject("Worker"))
            .WithDaprSidecar(new DaprSidecarOptions { AppProtocol = "http" })
            .WithHttpHealthCheck("/health")
            .WithReplicas(3);
        builder.AddProject("backupapi", new FakeProject("Api")).WithReference(worker).WaitFor(worker);
        var app = builder.Build();
        app.Orchestrator.AllocatePorts();

        Assert.Equal(["backupapi", "backupworker", "backupworker-2", "backupworker-2-dapr", "backupworker-3", "backupworker-3-dapr", "backupworker-dapr", "dashboard"],
            app.Resources.Select(r => r.Name).Order());
        var workers = new[] { "backupworker", "backupworker-2", "backupworker-3" };
        var envs = workers.Select(w => app.Orchestrator.BuildEnvironment(app.Resources.Single(r => r.Name == w))).ToList();
        Assert.Equal(3, envs.Select(e => e["ASPNETCORE_URLS"]).Distinct().Count());
        Assert.Equal(3, envs.Select(e => e["DAPR_GRPC_ENDPOINT"]).Distinct().Count());
        Assert.All(envs, e => Assert.Equal("backupworker", e["OTEL_SERVICE_NAME"]));
        for (var i = 0; i < workers.Length; i++)
        {
            var sidecar = app.Resources.Single(r => r.Name == workers[i] + "-dapr");
            var args = app.Orchestrator.BuildArgs(sidecar);
            Assert.Equal("backupworker", args[args.IndexOf("--app-id") + 1]);
            Assert.Equal(new Uri(envs[i]["ASPNETCORE_URLS"]).Port.ToString(System.Globalization.CultureInfo.InvariantCulture), args[args.IndexOf("--app-port") + 1]);
            Assert.Equal(sidecar.GetEndpoint("grpc").Url, envs[i]["DAPR_GRPC_ENDPOINT"]);
            Assert.Contains(app.Resources.Single(r => r.Name == workers[i]).Annotations.OfType<WaitAnnotation>(), w => w.Resource == sidecar);
            Assert.Contains(app.Resources.Single(r => r.Name == workers[i]).Annotations.OfType<HttpHealthCheckAnnotation>(), h => h.Path == "/health");
        }

        var api = app.Orchestrator.BuildEnvironment(app.Resources.Single(r => r.Name == "backupapi"));
        Assert.Equal(envs.Select(e => e["ASPNETCORE_URLS"]),
            [api["services__backupworker__http__0"], api["services__backupworker__http__1"], api["services__backupworker__http__2"]]);
    }
}
