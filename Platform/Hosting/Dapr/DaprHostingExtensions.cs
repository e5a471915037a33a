using System.Globalization;

namespace Platform.Hosting;

public static class DashboardEndpoints
{
    public const string Http = "http";
    public const string OtlpGrpc = "otlp-grpc";
    public const string OtlpHttp = "otlp-http";
}

public static class SchedulerEndpoints
{
    public const string Grpc = "grpc";
    public const string Healthz = "healthz";
}

public static class DaprSidecarEndpoints
{
    public const string Http = "http";
    public const string Grpc = "grpc";
}

/// <summary>
/// The Dapr integration (CommunityToolkit.Aspire.Hosting.Dapr's shape), plus what it leaves to <c>dapr init</c>:
/// the scheduler as a resource of the application.
/// </summary>
public static class DaprHostingExtensions
{
    /// <summary>Adds the Dapr-compatible scheduler, storing its jobs under <c>&lt;data dir&gt;/&lt;name&gt;</c>.</summary>
    public static IResourceBuilder<SchedulerResource> AddDaprScheduler(this IDistributedApplicationBuilder builder, string name = "scheduler")
    {
        var dll = PlatformComponents.Locate(builder, PlatformComponents.Scheduler);
        var scheduler = new SchedulerResource(name, dll, Path.GetDirectoryName(dll)!);
        scheduler.Annotations.Add(new EndpointAnnotation(SchedulerEndpoints.Grpc));
        scheduler.Annotations.Add(new EndpointAnnotation(SchedulerEndpoints.Healthz));
        var dataDir = Path.Combine(builder.DataDirectory, name);
        return builder.AddResource(scheduler)
            .WithArgs(ctx =>
            {
                var r = ctx.Resource;
                Add(ctx.Args, "--port", Port(r, SchedulerEndpoints.Grpc));
                Add(ctx.Args, "--listen-address", "127.0.0.1");
                Add(ctx.Args, "--id", "dapr-scheduler-server-0");
                Add(ctx.Args, "--data-dir", dataDir);
                Add(ctx.Args, "--healthz-port", Port(r, SchedulerEndpoints.Healthz));
                Add(ctx.Args, "--log-level", "info");
            })
            .WithHttpHealthCheck("/healthz", endpointName: SchedulerEndpoints.Healthz);
    }

    public static IResourceBuilder<T> WithDaprSidecar<T>(this IResourceBuilder<T> builder, string appId) where T : ProcessResource
        => builder.WithDaprSidecar(new DaprSidecarOptions { AppId = appId });

    public static IResourceBuilder<T> WithDaprSidecar<T>(this IResourceBuilder<T> builder, DaprSidecarOptions? options = null) where T : ProcessResource
        => builder.WithDaprSidecar(sidecar => { }, options);

    public static IResourceBuilder<T> WithDaprSidecar<T>(this IResourceBuilder<T> builder, Action<IResourceBuilder<DaprSidecarResource>> configureSidecar)
        where T : ProcessResource
        => builder.WithDaprSidecar(configureSidecar, null);

    private static IResourceBuilder<T> WithDaprSidecar<T>(this IResourceBuilder<T> builder, Action<IResourceBuilder<DaprSidecarResource>> configureSidecar,
        DaprSidecarOptions? options) where T : ProcessResource
    {
        var app = builder.Resource;
        if (app.Annotations.OfType<DaprSidecarAnnotation>().Any())
            throw new InvalidOperationException($"Resource '{app.Name}' already has a Dapr sidecar.");
        options ??= new DaprSidecarOptions();
        var sidecarBuilder = AddSidecar(builder.ApplicationBuilder, app, options);
        configureSidecar(sidecarBuilder);

        // What the Dapr integration gives the app: where its sidecar listens. APP_PORT is ours (the toolkit omits it).
        // Looked up at start, not captured, so that each replica of the app gets its own sidecar's ports.
        builder.WithEnvironment(ctx =>
        {
            var env = ctx.EnvironmentVariables;
            var sidecar = ctx.Resource.Annotations.OfType<DaprSidecarAnnotation>().First().Sidecar;
            env["DAPR_HTTP_PORT"] = Port(sidecar, DaprSidecarEndpoints.Http);
            env["DAPR_GRPC_PORT"] = Port(sidecar, DaprSidecarEndpoints.Grpc);
            env["DAPR_HTTP_ENDPOINT"] = sidecar.GetEndpoint(DaprSidecarEndpoints.Http).Url;
            env["DAPR_GRPC_ENDPOINT"] = sidecar.GetEndpoint(DaprSidecarEndpoints.Grpc).Url;
            env["APP_PORT"] = AppPort(sidecar).ToString(CultureInfo.InvariantCulture);
            if (sidecar.Options.DaprApiToken is { } t) env["DAPR_API_TOKEN"] = t;
        });
        return builder;
    }

    /// <summary>Adds the sidecar resource <c>&lt;app&gt;-dapr</c> of one app (or app replica) and marks the app with it.</summary>
    internal static IResourceBuilder<DaprSidecarResource> AddSidecar(IDistributedApplicationBuilder appBuilder, ProcessResource app, DaprSidecarOptions options)
    {
        var dll = PlatformComponents.Locate(appBuilder, PlatformComponents.Sidecar);
        var sidecar = new DaprSidecarResource($"{app.Name}-dapr", dll, Path.GetDirectoryName(dll)!, app, options);
        sidecar.Annotations.Add(new EndpointAnnotation(DaprSidecarEndpoints.Http, port: options.DaprHttpPort));
        sidecar.Annotations.Add(new EndpointAnnotation(DaprSidecarEndpoints.Grpc, port: options.DaprGrpcPort));
        var sidecarBuilder = appBuilder.AddResource(sidecar)
            .WithArgs(ctx => ctx.Args.AddRange(SidecarArgs((DaprSidecarResource)ctx.Resource, ctx.ExecutionContext)))
            .WithHttpHealthCheck("/v1.0/healthz", endpointName: DaprSidecarEndpoints.Http);
        if (options.DaprApiToken is { } token) sidecarBuilder.WithEnvironment("DAPR_API_TOKEN", token);
        app.Annotations.Add(new DaprSidecarAnnotation(sidecar));
        return sidecarBuilder;
    }

    /// <summary>
    /// Called by Build(): the app waits for its sidecar to be healthy, so its first Dapr call works. Unlike the Dapr
    /// integration, the sidecar does not copy the app's waits: it reconnects to the scheduler and resolves other apps
    /// by itself, so starting it at once (in parallel with the scheduler) shortens the start chain by two steps.
    /// </summary>
    internal static void ConnectSidecars(IDistributedApplicationBuilder builder)
    {
        foreach (var sidecar in builder.Resources.OfType<DaprSidecarResource>())
        {
            var app = sidecar.App;
            if (!app.Annotations.OfType<WaitAnnotation>().Any(w => ReferenceEquals(w.Resource, sidecar)))
                app.Annotations.Add(new WaitAnnotation(sidecar, WaitType.WaitUntilHealthy));
        }
    }

    private static IEnumerable<string> SidecarArgs(DaprSidecarResource sidecar, DistributedApplicationExecutionContext context)
    {
        var o = sidecar.Options;
        var appEndpoint = AppEndpoint(sidecar);
        var args = new List<string>();
        // Replicas of an app share its app id (the scheduler spreads the app's triggers over their sidecars).
        Add(args, "--app-id", o.AppId ?? ((sidecar.App as ProjectResource)?.ReplicaOf ?? sidecar.App).Name);
        Add(args, "--app-port", AppPort(sidecar).ToString(CultureInfo.InvariantCulture));
        Add(args, "--app-protocol", o.AppProtocol ?? appEndpoint?.Scheme ?? "http");
        Add(args, "--app-channel-address", o.AppChannelAddress ?? "127.0.0.1");
        Add(args, "--dapr-http-port", Port(sidecar, DaprSidecarEndpoints.Http));
        Add(args, "--dapr-grpc-port", Port(sidecar, DaprSidecarEndpoints.Grpc));
        Add(args, "--dapr-listen-addresses", o.DaprListenAddresses ?? "127.0.0.1");
        var scheduler = context.Resources.OfType<SchedulerResource>().FirstOrDefault();
        var schedulerAddress = o.SchedulerHostAddress
            ?? (scheduler is null ? "" : $"127.0.0.1:{Port(scheduler, SchedulerEndpoints.Grpc)}");
        Add(args, "--scheduler-host-address", schedulerAddress);
        Add(args, "--name-resolution-sqlite", o.NameResolutionSqlite ?? Path.Combine(context.DataDirectory, "nameresolution.db"));
        if (o.LogLevel is { } level) Add(args, "--log-level", level);
        return args;
    }

    private static EndpointAnnotation? AppEndpoint(DaprSidecarResource sidecar)
    {
        var o = sidecar.Options;
        var name = o.AppEndpoint ?? o.AppProtocol ?? "http";
        var endpoints = sidecar.App.Annotations.OfType<EndpointAnnotation>().ToList();
        return endpoints.FirstOrDefault(e => e.Name == name) ?? endpoints.FirstOrDefault(e => e.Name == "http") ?? endpoints.FirstOrDefault();
    }

    private static int AppPort(DaprSidecarResource sidecar)
        => sidecar.Options.AppPort ?? AppEndpoint(sidecar)?.AllocatedPort
           ?? throw new InvalidOperationException($"The app of sidecar '{sidecar.Name}' has no endpoint; set DaprSidecarOptions.AppPort.");

    private static string Port(ProcessResource resource, string endpoint)
        => resource.GetEndpoint(endpoint).AllocatedPort!.Value.ToString(CultureInfo.InvariantCulture);

    private static void Add(IList<string> args, string flag, string value)
    {
        args.Add(flag);
        args.Add(value);
    }

    private static void AddRange(this IList<string> list, IEnumerable<string> items)
    {
        foreach (var i in items) list.Add(i);
    }
}

public static class DashboardHostingExtensions
{
    /// <summary>
    /// Adds the telemetry dashboard. Build() adds it by itself unless <see cref="DistributedApplicationOptions.DisableDashboard"/>;
    /// every other .NET resource then exports OTLP to it with the generated API key.
    /// </summary>
    public static IResourceBuilder<DashboardResource> AddDashboard(this IDistributedApplicationBuilder builder, string name = "dashboard")
    {
        var dll = PlatformComponents.Locate(builder, PlatformComponents.Dashboard);
        var dashboard = new DashboardResource(name, dll, Path.GetDirectoryName(dll)!);
        dashboard.Annotations.Add(new EndpointAnnotation(DashboardEndpoints.Http));
        dashboard.Annotations.Add(new EndpointAnnotation(DashboardEndpoints.OtlpGrpc));
        dashboard.Annotations.Add(new EndpointAnnotation(DashboardEndpoints.OtlpHttp));
        return builder.AddResource(dashboard)
            .WithEnvironment(ctx =>
            {
                var env = ctx.EnvironmentVariables;
                var c = ctx.ExecutionContext;
                var r = ctx.Resource;
                env["ASPNETCORE_URLS"] = r.GetEndpoint(DashboardEndpoints.Http).Url;
                env["ASPNETCORE_ENVIRONMENT"] = "Development";
                // It polls the resource service every second; per-request client logs would drown the console.
                env["Logging__LogLevel__System.Net.Http.HttpClient"] = "Warning";
                env["Dashboard__Otlp__GrpcEndpointUrl"] = r.GetEndpoint(DashboardEndpoints.OtlpGrpc).Url;
                env["Dashboard__Otlp__HttpEndpointUrl"] = r.GetEndpoint(DashboardEndpoints.OtlpHttp).Url;
                env["Dashboard__Otlp__PrimaryApiKey"] = c.OtlpApiKey;
                env["Dashboard__Frontend__BrowserToken"] = c.BrowserToken;
                env["Dashboard__ResourceServiceUrl"] = c.ResourceServiceUrl;
                env["Dashboard__ResourceServiceApiKey"] = c.ResourceServiceApiKey;
                if (c.Resources.OfType<SchedulerResource>().FirstOrDefault() is { } scheduler)
                    env["Dashboard__SchedulerAddress"] = scheduler.GetEndpoint(SchedulerEndpoints.Grpc).Url;
            })
            .WithHttpHealthCheck("/healthz", endpointName: DashboardEndpoints.Http);
    }
}
