using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.DependencyInjection;
using Platform.Hosting.Dapr.Security;
using Platform.Security;

namespace Platform.Hosting.Dapr;

/// <summary>
/// The Dapr integration for Aspire (CommunityToolkit.Aspire.Hosting.Dapr's public shape), plus what the toolkit leaves
/// to <c>dapr init</c>: the scheduler as a resource of the model. Unlike the toolkit, each sidecar is health-checked
/// (<c>/v1.0/healthz</c>) and its app waits for it, so the app's first Dapr call finds it ready.
/// </summary>
public static partial class DaprHostingExtensions
{
    private const string SidecarComponent = "Sidecar";
    private const string SchedulerComponent = "Scheduler";

    /// <summary>Configures the integration; idempotent, as the toolkit's <c>AddDapr</c>.</summary>
    public static IDistributedApplicationBuilder AddDapr(this IDistributedApplicationBuilder builder, Action<DaprOptions>? configure = null)
    {
        configure?.Invoke(Options(builder));
        return builder;
    }

    /// <summary>Adds the Dapr scheduler; its jobs live under <c>&lt;data directory&gt;/&lt;name&gt;</c>.</summary>
    public static IResourceBuilder<DaprSchedulerResource> AddDaprScheduler(this IDistributedApplicationBuilder builder, string name = "scheduler")
    {
        var scheduler = AddSchedulerProcess(builder, name, ordinal: 0, Path.Combine(DataDirectory(builder), name), etcdEndpoints: null);
        AddJobsView(builder, scheduler.Resource);
        return scheduler;
    }

    /// <summary>One scheduler process; with <paramref name="etcdEndpoints"/> it keeps its jobs in that etcd cluster.</summary>
    private static IResourceBuilder<DaprSchedulerResource> AddSchedulerProcess(
        IDistributedApplicationBuilder builder, string name, int ordinal, string dataDirectory, ReferenceExpression? etcdEndpoints)
    {
        var options = Options(builder);
        var program = Locate(builder, options.SchedulerPath, SchedulerComponent);
        var scheduler = new DaprSchedulerResource(name, "dotnet", Path.GetDirectoryName(program)!);
        var identities = RunIdentities.For(builder, options, DataDirectory(builder));
        var resource = builder.AddResource(scheduler)
            .WithIconName("CalendarClock")
            .WithEndpoint(name: DaprSchedulerResource.GrpcEndpointName, scheme: "http", env: null)
            .WithEndpoint(name: DaprSchedulerResource.HealthzEndpointName, scheme: "http", env: null)
            .WithArgs(context =>
            {
                context.Args.Add(program);
                Flag(context, "--port", scheduler.GrpcEndpoint.Property(EndpointProperty.TargetPort));
                Flag(context, "--listen-address", "127.0.0.1");
                // Dapr's scheduler replicas are the pods of a StatefulSet: dapr-scheduler-server-0, -1, …
                Flag(context, "--id", SchedulerId(ordinal));
                Flag(context, "--data-dir", dataDirectory);
                Flag(context, "--healthz-port", new EndpointReference(scheduler, DaprSchedulerResource.HealthzEndpointName).Property(EndpointProperty.TargetPort));
                Flag(context, "--log-level", "info");
                if (etcdEndpoints is not null)
                {
                    context.Args.Add("--etcd-embed=false");
                    Flag(context, "--etcd-client-endpoints", etcdEndpoints);
                    // The address the other parties are told to dial this replica at (WatchHosts): its endpoint as
                    // every sidecar's --scheduler-host-address names it, which the other replicas' --etcd-replicas can
                    // name too (a target port is substituted only into the resource's own arguments).
                    Flag(context, "--override-broadcast-host-port", BroadcastAddress(scheduler));
                }
                if (identities is null) context.Args.Add("--tls-enabled=false");
                else
                {
                    foreach (var arg in IdentityArgs(identities, name, SpiffeId.Scheduler())) context.Args.Add(arg);
                    Flag(context, "--app-trust-domains", AppTrustDomain(builder));
                }
            })
            .WithHttpHealthCheck("/healthz", endpointName: DaprSchedulerResource.HealthzEndpointName)
            .ExcludeFromManifest();
        LoopbackTargets(scheduler);
        UseRunIdentity(resource, identities, () => SpiffeId.Scheduler());
        if (options.EnableTelemetry != false) resource.WithOtlpExporter();
        // Sidecars added before the scheduler wait for it too (those added after find it in WithDaprSidecar).
        foreach (var sidecar in builder.Resources.OfType<DaprSidecarResource>().ToList()) builder.CreateResourceBuilder(sidecar).WaitFor(resource);
        return resource;
    }

    private static void AddJobsView(IDistributedApplicationBuilder builder, IDaprSchedulerResource scheduler)
    {
        if (!builder.ExecutionContext.IsRunMode) return;
        var identities = RunIdentities.For(builder, Options(builder), DataDirectory(builder));
        builder.Services.AddHostedService(sp => new SchedulerJobsView(scheduler, identities?.InMemory(SpiffeId.AppHost()),
            sp.GetRequiredService<ResourceNotificationService>(), sp.GetRequiredService<DistributedApplicationModel>(),
            sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<SchedulerJobsView>>()));
    }

    public static IResourceBuilder<T> WithDaprSidecar<T>(this IResourceBuilder<T> builder, string appId)
        where T : IResourceWithEnvironment, IResourceWithEndpoints, IResourceWithWaitSupport
        => builder.WithDaprSidecar(new DaprSidecarOptions { AppId = appId });

    public static IResourceBuilder<T> WithDaprSidecar<T>(this IResourceBuilder<T> builder, DaprSidecarOptions? options = null)
        where T : IResourceWithEnvironment, IResourceWithEndpoints, IResourceWithWaitSupport
        => builder.WithDaprSidecar(sidecar => sidecar.WithOptions(options ?? new DaprSidecarOptions()));

    /// <summary>Adds the sidecar <c>&lt;app&gt;-dapr</c>: nested under the app, health-checked, and waited for by the app.</summary>
    public static IResourceBuilder<T> WithDaprSidecar<T>(this IResourceBuilder<T> builder, Action<IResourceBuilder<IDaprSidecarResource>> configureSidecar)
        where T : IResourceWithEnvironment, IResourceWithEndpoints, IResourceWithWaitSupport
    {
        var app = builder.Resource;
        if (app.Annotations.OfType<DaprSidecarAnnotation>().Any())
            throw new InvalidOperationException($"Resource '{app.Name}' already has a Dapr sidecar.");

        var appBuilder = builder.ApplicationBuilder;
        var daprOptions = Options(appBuilder);
        var program = Locate(appBuilder, daprOptions.SidecarPath, SidecarComponent);
        var sidecar = new DaprSidecarResource($"{app.Name}-dapr", "dotnet", Path.GetDirectoryName(program)!, app);
        var nameResolution = Path.Combine(DataDirectory(appBuilder), "nameresolution.db");
        var identities = RunIdentities.For(appBuilder, daprOptions, DataDirectory(appBuilder));
        var accessControl = DaprAccessControl.Of(appBuilder);
        var sidecarBuilder = appBuilder.AddResource(sidecar)
            .WithIconName("Connector")
            .WithEndpoint(name: DaprSidecarResource.HttpEndpointName, scheme: "http", env: null)
            .WithEndpoint(name: DaprSidecarResource.GrpcEndpointName, scheme: "http", env: null)
            .WithEndpoint(name: DaprSidecarResource.MetricsEndpointName, scheme: "http", env: null)
            .WithParentRelationship(app)
            .WithArgs(context =>
            {
                context.Args.Add(program);
                SidecarArgs(context, sidecar, appBuilder.Resources, nameResolution);
                if (identities is not null)
                {
                    // Each sidecar its own certificate and key, naming its namespace and app id.
                    context.Args.Add("--enable-mtls");
                    var appId = SidecarOptionsOf(sidecar).AppId ?? app.Name;
                    foreach (var arg in IdentityArgs(identities, sidecar.Name, new SpiffeId(AppTrustDomain(appBuilder), SpiffeId.DefaultControlPlaneNamespace, appId)))
                        context.Args.Add(arg);
                }
                // The app id's access control (default deny), unless a Configuration file is given; only with mTLS,
                // which proves callers (without it every call would be refused).
                if (SidecarOptionsOf(sidecar).Config is { } config) Flag(context, "--config", config);
                else if (identities is not null)
                {
                    var appId = SidecarOptionsOf(sidecar).AppId ?? app.Name;
                    Flag(context, "--config", DaprConfigurationFile.Write(Path.Combine(DataDirectory(appBuilder), "dapr-config"), appId, AppTrustDomain(appBuilder), accessControl.CallersOf(appId)));
                }
            })
            // daprd answers its health endpoint with 204 No Content.
            .WithHttpHealthCheck("/v1.0/healthz", statusCode: 204, endpointName: DaprSidecarResource.HttpEndpointName)
            .ExcludeFromManifest();
        UseRunIdentity(sidecarBuilder, identities, () => new SpiffeId(AppTrustDomain(appBuilder), SpiffeId.DefaultControlPlaneNamespace, SidecarOptionsOf(sidecar).AppId ?? app.Name));
        if (daprOptions.EnableTelemetry != false) sidecarBuilder.WithOtlpExporter();
        // The sidecar connects to every scheduler replica (--scheduler-host-address); it starts once they serve.
        foreach (var scheduler in appBuilder.Resources.OfType<DaprSchedulerResource>().ToList()) sidecarBuilder.WaitFor(appBuilder.CreateResourceBuilder(scheduler));
        configureSidecar(sidecarBuilder.AsSidecar());
        if (daprOptions.EnableApiTokens != false)
        {
            // The app id's own tokens (replicas of one app id share them): another app's token opens nothing here.
            var (daprToken, appToken) = ApiTokens(appBuilder, SidecarOptionsOf(sidecar).AppId ?? app.Name);
            sidecarBuilder.WithEnvironment("DAPR_API_TOKEN", daprToken).WithEnvironment("APP_API_TOKEN", appToken);
            builder.WithEnvironment("DAPR_API_TOKEN", daprToken).WithEnvironment("APP_API_TOKEN", appToken);
        }
        LoopbackTargets(sidecar);
        ApplyFixedPorts(sidecar);

        // What the toolkit gives the app: where its sidecar listens (through the endpoints' proxies).
        builder.WithAnnotation(new DaprSidecarAnnotation(sidecar))
            .WithEnvironment(context =>
            {
                if (!context.ExecutionContext.IsRunMode) return;
                var env = context.EnvironmentVariables;
                env.TryAdd("DAPR_HTTP_PORT", sidecar.HttpEndpoint.Property(EndpointProperty.Port));
                env.TryAdd("DAPR_GRPC_PORT", sidecar.GrpcEndpoint.Property(EndpointProperty.Port));
                env.TryAdd("DAPR_HTTP_ENDPOINT", sidecar.HttpEndpoint);
                env.TryAdd("DAPR_GRPC_ENDPOINT", sidecar.GrpcEndpoint);
            })
            .WaitFor(sidecarBuilder);
        return builder;
    }

    /// <summary>Replaces the sidecar's options (the toolkit's <c>WithOptions</c>).</summary>
    public static IResourceBuilder<IDaprSidecarResource> WithOptions(this IResourceBuilder<IDaprSidecarResource> builder, DaprSidecarOptions options)
    {
        foreach (var old in builder.Resource.Annotations.OfType<DaprSidecarOptionsAnnotation>().ToList())
            builder.Resource.Annotations.Remove(old);
        return builder.WithAnnotation(new DaprSidecarOptionsAnnotation(options));
    }

    private static void SidecarArgs(CommandLineArgsCallbackContext context, DaprSidecarResource sidecar, IResourceCollection model, string nameResolution)
    {
        var o = SidecarOptionsOf(sidecar);
        var appEndpoint = AppEndpoint(sidecar.App, o);
        Flag(context, "--app-id", o.AppId ?? sidecar.App.Name);
        if (o.AppPort is { } fixedAppPort) Flag(context, "--app-port", fixedAppPort);
        else if (appEndpoint is not null) Flag(context, "--app-port", appEndpoint.Property(EndpointProperty.Port));
        Flag(context, "--app-protocol", o.AppProtocol ?? appEndpoint?.EndpointAnnotation.UriScheme ?? "http");
        Flag(context, "--app-channel-address", o.AppChannelAddress ?? "127.0.0.1");
        Flag(context, "--dapr-http-port", sidecar.HttpEndpoint.Property(EndpointProperty.TargetPort));
        Flag(context, "--dapr-grpc-port", sidecar.GrpcEndpoint.Property(EndpointProperty.TargetPort));
        Flag(context, "--metrics-port", sidecar.MetricsEndpoint.Property(EndpointProperty.TargetPort));
        Flag(context, "--dapr-listen-addresses", o.DaprListenAddresses ?? "127.0.0.1");
        if (o.SchedulerHostAddress is { } address) Flag(context, "--scheduler-host-address", address);
        else if (SchedulerHostAddress(model) is { } schedulers) Flag(context, "--scheduler-host-address", schedulers);
        Flag(context, "--name-resolution-sqlite", nameResolution);
        if (o.EnableAppHealthCheck == true) context.Args.Add("--enable-app-health-check");
        if (o.AppHealthCheckPath is { } path) Flag(context, "--app-health-check-path", path);
        if (o.AppHealthProbeInterval is { } interval) Flag(context, "--app-health-probe-interval", interval);
        if (o.AppHealthProbeTimeout is { } timeout) Flag(context, "--app-health-probe-timeout", timeout);
        if (o.AppHealthThreshold is { } threshold) Flag(context, "--app-health-threshold", threshold);
        if (o.LogLevel is { } level) Flag(context, "--log-level", level);
    }

    /// <summary>The apps' trust domain (<see cref="DaprOptions.TrustDomain"/>); a malformed one stops the model with the reason.</summary>
    private static string AppTrustDomain(IDistributedApplicationBuilder builder)
    {
        var trustDomain = Options(builder).TrustDomain ?? SpiffeId.DefaultTrustDomain;
        return SpiffeId.IsTrustDomain(trustDomain) ? trustDomain
            : throw new DistributedApplicationException(
                $"Dapr:TrustDomain '{trustDomain}' is not a trust domain: use lower-case letters, digits, dots, dashes and underscores (e.g. example.org).");
    }

    private static string SchedulerId(int ordinal) => $"dapr-scheduler-server-{ordinal}";

    /// <summary>Where a scheduler replica is dialled and what it announces: its gRPC endpoint's host:port.</summary>
    internal static ReferenceExpression BroadcastAddress(DaprSchedulerResource scheduler)
        => ReferenceExpression.Create($"{scheduler.GrpcEndpoint.Property(EndpointProperty.Host)}:{scheduler.GrpcEndpoint.Property(EndpointProperty.Port)}");

    /// <summary>Every scheduler process of the model as daprd's <c>--scheduler-host-address</c> takes them: host:port,host:port,…</summary>
    private static ReferenceExpression? SchedulerHostAddress(IResourceCollection model)
    {
        var schedulers = model.OfType<DaprSchedulerResource>().ToList();
        if (schedulers.Count == 0) return null;
        var address = new ReferenceExpressionBuilder();
        foreach (var scheduler in schedulers)
        {
            if (!address.IsEmpty) address.AppendLiteral(",");
            address.Append($"{BroadcastAddress(scheduler)}");
        }
        return address.Build();
    }

    /// <summary>The app endpoint the sidecar calls, chosen as the toolkit chooses it from AppEndpoint and AppProtocol.</summary>
    private static EndpointReference? AppEndpoint(IResource app, DaprSidecarOptions o)
    {
        if (app is not IResourceWithEndpoints withEndpoints) return null;
        var endpoints = app.Annotations.OfType<EndpointAnnotation>().ToList();
        var chosen = endpoints.FirstOrDefault(e => e.Name == (o.AppEndpoint ?? o.AppProtocol ?? "http"))
                     ?? endpoints.FirstOrDefault(e => e.Name == "http");
        return chosen is null ? null : withEndpoints.GetEndpoint(chosen.Name);
    }

    private static DaprSidecarOptions SidecarOptionsOf(IResource sidecar)
        => sidecar.Annotations.OfType<DaprSidecarOptionsAnnotation>().LastOrDefault()?.Options ?? new DaprSidecarOptions();

    private static void ApplyFixedPorts(DaprSidecarResource sidecar)
    {
        var o = SidecarOptionsOf(sidecar);
        foreach (var endpoint in sidecar.Annotations.OfType<EndpointAnnotation>())
        {
            if (endpoint.Name == DaprSidecarResource.HttpEndpointName && o.DaprHttpPort is { } http) endpoint.Port = http;
            if (endpoint.Name == DaprSidecarResource.GrpcEndpointName && o.DaprGrpcPort is { } grpc) endpoint.Port = grpc;
            if (endpoint.Name == DaprSidecarResource.MetricsEndpointName && o.MetricsPort is { } metrics) endpoint.Port = metrics;
        }
    }

    /// <summary>Our programs listen on 127.0.0.1 only, so their endpoints' proxies forward there.</summary>
    private static void LoopbackTargets(IResource resource)
    {
        foreach (var endpoint in resource.Annotations.OfType<EndpointAnnotation>()) endpoint.TargetHost = "127.0.0.1";
    }

    private static IResourceBuilder<IDaprSidecarResource> AsSidecar(this IResourceBuilder<DaprSidecarResource> builder)
        => new SidecarBuilder(builder);

    private static void Flag(CommandLineArgsCallbackContext context, string flag, object value)
    {
        context.Args.Add(flag);
        context.Args.Add(value);
    }

    private static void Flag(CommandLineArgsCallbackContext context, string flag, int value)
        => Flag(context, flag, value.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static DaprOptions Options(IDistributedApplicationBuilder builder)
    {
        if (builder.Services.FirstOrDefault(d => d.ServiceType == typeof(DaprOptions))?.ImplementationInstance is DaprOptions existing)
            return existing;
        var options = new DaprOptions();
        builder.Services.AddSingleton(options);
        return options;
    }

    public const string DaprApiTokenParameter = "dapr-api-token";
    public const string AppApiTokenParameter = "app-api-token";

    /// <summary>The secret parameter holding <paramref name="appId"/>'s DAPR_API_TOKEN: <c>&lt;app id&gt;-dapr-api-token</c>.</summary>
    public static string DaprApiTokenParameterFor(string appId) => $"{appId}-{DaprApiTokenParameter}";

    /// <summary>The secret parameter holding <paramref name="appId"/>'s APP_API_TOKEN: <c>&lt;app id&gt;-app-api-token</c>.</summary>
    public static string AppApiTokenParameterFor(string appId) => $"{appId}-{AppApiTokenParameter}";

    /// <summary>An app id's two tokens, created with its first sidecar and shared by its replicas, random unless configured.</summary>
    private static (IResourceBuilder<ParameterResource> Dapr, IResourceBuilder<ParameterResource> App) ApiTokens(IDistributedApplicationBuilder builder, string appId)
    {
        IResourceBuilder<ParameterResource> Token(string name) =>
            builder.Resources.OfType<ParameterResource>().FirstOrDefault(p => p.Name == name) is { } existing
                ? builder.CreateResourceBuilder(existing)
                : builder.AddParameter(name, builder.Configuration[$"Parameters:{name}"]
                    ?? Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)), secret: true);
        return (Token(DaprApiTokenParameterFor(appId)), Token(AppApiTokenParameterFor(appId)));
    }

    private static string DataDirectory(IDistributedApplicationBuilder builder)
        => Options(builder).DataDirectory ?? Path.Combine(builder.AppHostDirectory, ".data");

    /// <summary>The program's path: configured, or recorded by this AppHost's build (build/Platform.Hosting.Dapr.targets).</summary>
    private static string Locate(IDistributedApplicationBuilder builder, string? configured, string component)
    {
        var path = configured ?? builder.AppHostAssembly?.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == $"Platform.Hosting.Dapr:{component}")?.Value;
        if (string.IsNullOrEmpty(path))
            throw new DistributedApplicationException(
                $"Unable to locate the Dapr {component.ToLowerInvariant()}: reference its project from the AppHost with DaprComponent=\"{component}\" and import Platform.Hosting.Dapr.targets, or set DaprOptions.{component}Path.");
        if (!File.Exists(path))
            throw new DistributedApplicationException($"The Dapr {component.ToLowerInvariant()} '{path}' does not exist; build the AppHost first.");
        return path;
    }

    /// <summary>Presents the sidecar's builder as the toolkit's <c>IResourceBuilder&lt;IDaprSidecarResource&gt;</c>.</summary>
    private sealed class SidecarBuilder(IResourceBuilder<DaprSidecarResource> inner) : IResourceBuilder<IDaprSidecarResource>
    {
        public IDistributedApplicationBuilder ApplicationBuilder => inner.ApplicationBuilder;
        public IDaprSidecarResource Resource => inner.Resource;

        public IResourceBuilder<IDaprSidecarResource> WithAnnotation<TAnnotation>(TAnnotation annotation, ResourceAnnotationMutationBehavior behavior = ResourceAnnotationMutationBehavior.Append)
            where TAnnotation : IResourceAnnotation
        {
            inner.WithAnnotation(annotation, behavior);
            return this;
        }
    }
}
