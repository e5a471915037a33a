using Grpc.AspNetCore.Server;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Platform.Scheduler.Hosting;
using Platform.Security;

namespace Platform.Scheduler.Security;

/// <summary>
/// The scheduler's side of Dapr's identity model. On by default: the gRPC port speaks mTLS only, with the identity
/// from <c>--trust-anchors-file</c>/<c>--cert-chain-file</c>/<c>--cert-key-file</c> (or <c>DAPR_TRUST_ANCHORS</c>,
/// <c>DAPR_CERT_CHAIN</c>, <c>DAPR_CERT_KEY</c>), and every call is authorized by <see cref="CallerAuthorization"/>.
/// <c>--tls-enabled=false</c> (Dapr's flag) turns all of it off, for a scheduler run by hand, and says so in a warning.
/// </summary>
public sealed partial class SchedulerSecurity
{
    private SchedulerSecurity(WorkloadIdentity? identity) => Identity = identity;

    /// <summary>Null when mTLS is off.</summary>
    public WorkloadIdentity? Identity { get; }

    /// <summary>The one identity served the admin API (and every app's jobs for reading and deleting): the AppHost's.</summary>
    public SpiffeId? AdminId => Identity is null ? null : SpiffeId.AppHost(Identity.Id.TrustDomain, Identity.Id.Namespace);

    /// <summary>Loads the identity (or refuses to start with <see cref="IdentityException"/>) and registers the authorization.</summary>
    public static SchedulerSecurity Add(IServiceCollection services, SchedulerOptions options)
    {
        var security = new SchedulerSecurity(!options.TlsEnabled ? null
            : string.IsNullOrEmpty(options.SentryAddress)
                ? WorkloadIdentity.Load(new IdentitySources(options.TrustAnchorsFile, options.CertChainFile, options.CertKeyFile))
                : Platform.Security.Renewal.SentryIdentity.Obtain(options.SentryAddress, new IdentitySources(options.TrustAnchorsFile, null, null),
                    SpiffeId.Scheduler(), Platform.Security.Renewal.SentryClient.SentryId(SpiffeId.DefaultControlPlaneTrustDomain, SpiffeId.DefaultControlPlaneNamespace)));
        services.AddSingleton(security);
        Platform.Security.Renewal.IdentityRenewalExtensions.AddIdentityRenewal(services, security.Identity);
        if (security.Identity is not null)
            services.Configure<GrpcServiceOptions>(o => o.Interceptors.Add<CallerAuthorization>());
        return security;
    }

    /// <summary>The gRPC listener: mTLS when on, else h2c.</summary>
    public void Configure(ListenOptions listen)
    {
        if (Identity is not null) listen.UseMtls(Identity);
    }

    public void LogMode(ILogger logger)
    {
        if (Identity is null) LogInsecure(logger);
        else LogSecure(logger, Identity.Id.ToString());
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "mTLS is OFF (--tls-enabled=false): any local process can schedule, read, delete and receive the jobs of any app id. Use this only for a scheduler run by hand.")]
    private static partial void LogInsecure(ILogger logger);

    [LoggerMessage(Level = LogLevel.Information, Message = "mTLS is on: serving as {Id}; each caller is served only for the app id its certificate names")]
    private static partial void LogSecure(ILogger logger, string id);
}
