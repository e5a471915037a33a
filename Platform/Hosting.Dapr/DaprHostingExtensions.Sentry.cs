using System.Globalization;
using System.Reflection;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Platform.Hosting.Dapr.Security;
using Platform.Security;

namespace Platform.Hosting.Dapr;

/// <summary>The <c>sentry</c> resource and how sidecars and schedulers get their identity from it.</summary>
public static partial class DaprHostingExtensions
{
    private const string SentryComponent = "Sentry";
    private const string SentryTokenVariable = "DAPR_SENTRY_TOKEN";

    /// <summary>
    /// The flags that give a process its identity: <c>--trust-anchors-file</c> and <c>--sentry-address</c> when the run
    /// has a Sentry (see <see cref="UseRunIdentity"/>), else the certificate files the AppHost writes.
    /// </summary>
    private static IEnumerable<object> IdentityArgs(RunIdentities identities, string resource, SpiffeId id)
    {
        if (identities.Sentry is not { } sentry) return identities.FilesFor(resource, id).Flags();
        var endpoint = sentry.Resource.GrpcEndpoint;
        return ["--trust-anchors-file", identities.TrustAnchorsFile(),
            "--sentry-address", ReferenceExpression.Create($"{endpoint.Property(EndpointProperty.Host)}:{endpoint.Property(EndpointProperty.Port)}")];
    }

    /// <summary>
    /// With a Sentry in the run: the process gets its own bootstrap token (a secret parameter, as <c>DAPR_SENTRY_TOKEN</c>)
    /// for the identity <paramref name="id"/> gives once its options are final, and waits for the Sentry.
    /// </summary>
    private static void UseRunIdentity<T>(IResourceBuilder<T> resource, RunIdentities? identities, Func<SpiffeId> id)
        where T : IResourceWithEnvironment, IResourceWithWaitSupport
    {
        if (identities is null) return;
        var builder = resource.ApplicationBuilder;
        var sentry = EnsureSentry(builder, identities);
        if (sentry is null) return;
        var token = identities.NewRequester(resource.Resource.Name, id);
        var parameter = builder.AddParameter($"{resource.Resource.Name}-sentry-token", token, secret: true);
        resource.WithEnvironment(SentryTokenVariable, parameter).WaitFor(sentry);
    }

    /// <summary>The run's Sentry, added with the first process that needs it; null when the run has none.</summary>
    private static IResourceBuilder<DaprSentryResource>? EnsureSentry(IDistributedApplicationBuilder builder, RunIdentities identities)
    {
        if (identities.Sentry is { } existing) return existing;
        var options = Options(builder);
        if (options.EnableSentry == false) return null;
        var program = options.SentryPath ?? builder.AppHostAssembly?.GetCustomAttributes<AssemblyMetadataAttribute>()
            .FirstOrDefault(a => a.Key == $"Platform.Hosting.Dapr:{SentryComponent}")?.Value;
        // An AppHost built without the Sentry keeps the certificate files it had before.
        if (string.IsNullOrEmpty(program) && options.EnableSentry != true) return null;
        program = Locate(builder, program, SentryComponent);
        var resource = new DaprSentryResource("sentry", "dotnet", Path.GetDirectoryName(program)!);
        var lifetime = identities.WorkloadLifetime;
        var sentry = builder.AddResource(resource)
            .WithIconName("ShieldKeyhole")
            // Declared "http" like the scheduler's, though the Sentry serves TLS itself: Aspire takes an https endpoint
            // for one it must find a trusted development certificate for, and warns on every run without one.
            .WithEndpoint(name: DaprSentryResource.GrpcEndpointName, scheme: "http", env: null)
            .WithEndpoint(name: DaprSentryResource.HealthzEndpointName, scheme: "http", env: null)
            .WithArgs(context =>
            {
                context.Args.Add(program);
                Flag(context, "--port", resource.GrpcEndpoint.Property(EndpointProperty.TargetPort));
                Flag(context, "--listen-address", "127.0.0.1");
                Flag(context, "--healthz-port", new EndpointReference(resource, DaprSentryResource.HealthzEndpointName).Property(EndpointProperty.TargetPort));
                Flag(context, "--trust-domain", SpiffeId.DefaultControlPlaneTrustDomain);
                Flag(context, "--workload-cert-ttl", ((long)Math.Ceiling(lifetime.TotalSeconds)).ToString(CultureInfo.InvariantCulture) + "s");
                Flag(context, "--ca-credentials-file", identities.WriteSentryHandoff());
            })
            // Hashes only: a look at the Sentry's environment lets no one ask in another's name.
            .WithEnvironment(context => context.EnvironmentVariables["SENTRY_BOOTSTRAP_TOKENS"] = identities.BootstrapTokenHashes())
            .WithHttpHealthCheck("/healthz", endpointName: DaprSentryResource.HealthzEndpointName)
            .ExcludeFromManifest();
        LoopbackTargets(resource);
        identities.Sentry = sentry;
        return sentry;
    }
}
