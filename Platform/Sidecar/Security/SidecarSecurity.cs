using Platform.Sidecar.Hosting;
using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Platform.Security;

namespace Platform.Sidecar.Security;

/// <summary>
/// daprd's mTLS (<c>--enable-mtls</c>): the sidecar's certificate must name its own namespace and app id; it talks to
/// the scheduler over mTLS, accepting only the scheduler's identity
/// (<c>spiffe://&lt;control-plane-trust-domain&gt;/ns/&lt;control-plane-namespace&gt;/dapr-scheduler</c>), and other
/// sidecars invoke it only on its internal port, over mTLS, with a certificate from the same trust anchors.
/// Without the flag all of this is off, as in daprd.
/// </summary>
public sealed class SidecarSecurity
{
    private readonly SpiffeId? _scheduler;
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, HttpClient> _peers = new(StringComparer.Ordinal);

    private SidecarSecurity(WorkloadIdentity? identity, int? internalPort, SpiffeId? scheduler)
    {
        Identity = identity;
        InternalPort = internalPort;
        _scheduler = scheduler;
    }

    /// <summary>Null when mTLS is off.</summary>
    public WorkloadIdentity? Identity { get; }

    /// <summary>The sidecar-to-sidecar port (mTLS only); null when mTLS is off (the route is then on the HTTP port).</summary>
    public int? InternalPort { get; }

    /// <summary>
    /// Loads and checks the identity; <see cref="IdentityException"/> when it is missing or names someone else. From the
    /// Sentry it is asked for in <paramref name="trustDomain"/> (the app's Configuration's), as daprd asks.
    /// </summary>
    public static SidecarSecurity Create(SidecarOptions options, string trustDomain = SpiffeId.DefaultTrustDomain)
    {
        if (!options.EnableMtls) return new SidecarSecurity(null, null, null);
        var identity = string.IsNullOrEmpty(options.SentryAddress)
            ? WorkloadIdentity.Load(new IdentitySources(options.TrustAnchorsFile, options.CertChainFile, options.CertKeyFile))
            : Platform.Security.Renewal.SentryIdentity.Obtain(options.SentryAddress, new IdentitySources(options.TrustAnchorsFile, null, null),
                new SpiffeId(trustDomain, options.Namespace, options.AppId),
                Platform.Security.Renewal.SentryClient.SentryId(options.ControlPlaneTrustDomain, options.ControlPlaneNamespace));
        if (identity.Id.Namespace != options.Namespace || identity.Id.AppId != options.AppId)
        {
            var named = identity.Id.ToString();
            identity.Dispose();
            throw new IdentityException($"the certificate names {named}, but this sidecar is app {options.AppId} in namespace {options.Namespace}");
        }
        return new SidecarSecurity(identity, options.DaprInternalGrpcPort ?? FreeLoopbackPort(),
            SpiffeId.Scheduler(options.ControlPlaneTrustDomain, options.ControlPlaneNamespace));
    }

    /// <summary>Whether a server is the scheduler this sidecar was told to trust (Dapr's AuthorizeID).</summary>
    public bool IsScheduler(SpiffeId id) => id == _scheduler;

    /// <summary>The scheduler's address as a URI: https when mTLS is on.</summary>
    public Uri SchedulerUri(string address) =>
        new(address.Contains("://", StringComparison.Ordinal) ? address : (Identity is null ? "http://" : "https://") + address);

    /// <summary>The address other sidecars reach this one's invocation route at, or null for the HTTP port's.</summary>
    public string? InternalAddress(string host) => InternalPort is { } port ? $"https://{host}:{port}" : null;

    public void ConfigureListeners(KestrelServerOptions kestrel, IPAddress address)
    {
        if (Identity is null || InternalPort is not { } port) return;
        kestrel.Listen(address, port, l =>
        {
            l.Protocols = HttpProtocols.Http1AndHttp2;
            l.UseMtls(Identity);
        });
    }

    /// <summary>
    /// The HTTP client for calls to <paramref name="appId"/>'s sidecars: it presents this identity and accepts a server
    /// only when its certificate names that app id in this sidecar's namespace (Dapr checks the callee's SPIFFE id path).
    /// One client per app id, so a pooled connection is only ever reused for the app it was verified as.
    /// </summary>
    public HttpClient PeerClient(string appId)
    {
        var identity = Identity ?? throw new InvalidOperationException("mTLS is off");
        return _peers.GetOrAdd(appId, id => new HttpClient(identity.CreateHandler(
            peer => peer.TrustDomain == identity.Id.TrustDomain && peer.Namespace == identity.Id.Namespace && peer.AppId == id,
            new SocketsHttpHandler
            {
                AllowAutoRedirect = false,
                UseCookies = false,
                AutomaticDecompression = DecompressionMethods.None,
                PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
                MaxConnectionsPerServer = 1024,
                ConnectTimeout = TimeSpan.FromSeconds(5),
            })) { Timeout = Timeout.InfiniteTimeSpan });
    }

    private static int FreeLoopbackPort()
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }
}
