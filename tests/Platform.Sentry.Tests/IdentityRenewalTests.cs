using System.Net;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Security;
using Platform.Security.Renewal;
using TestSupport;

namespace Platform.Sentry.Tests;

/// <summary>Renewal in process: a renewed certificate serves new handshakes while open connections go on; an expired one is a health problem.</summary>
public sealed class IdentityRenewalTests
{
    private static readonly SpiffeId Server = new(SpiffeId.DefaultTrustDomain, "default", "renewing-server");

    [Fact]
    public async Task A_renewed_certificate_serves_new_handshakes_and_open_connections_keep_working_past_the_old_ones_expiry()
    {
        using var ca = CertificateAuthority.Create("renewal-tests");
        var trust = TrustBundle.FromPem(ca.TrustAnchorsPem);
        var identity = await RenewableIdentity.ObtainAsync(new LocalSigner(ca, TimeSpan.FromSeconds(4)), trust, Server, TimeSpan.FromSeconds(5));
        using var renewal = new IdentityRenewal(identity, TimeProvider.System, NullLogger<IdentityRenewal>.Instance);
        await renewal.StartAsync(CancellationToken.None);

        var builder = WebApplication.CreateSlimBuilder();
        var port = FreePort.Next();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, port, l =>
        {
            l.Protocols = HttpProtocols.Http2;
            l.UseMtls(identity);
        }));
        await using var app = builder.Build();
        app.MapGet("/", () => "ok");
        await app.StartAsync();
        try
        {
            var client = Issued(ca, new SpiffeId(SpiffeId.DefaultTrustDomain, "default", "client"));
            var seenByOld = new List<X509Certificate2>();
            using var old = Client(client, seenByOld);
            Assert.Equal("ok", await Get(old, port));
            var first = Assert.Single(seenByOld);
            var firstExpiry = first.NotAfter;

            // Renewed at 70 % of 4 s; then the certificate the old connection met expires while it is still open.
            await Poll.UntilAsync(() => Task.FromResult(identity.Certificate.Thumbprint != first.Thumbprint), TimeSpan.FromSeconds(15), "renewal");
            await Poll.UntilAsync(() => Task.FromResult(DateTime.Now > firstExpiry.AddMilliseconds(200)), TimeSpan.FromSeconds(15), "the first certificate's expiry");

            Assert.Equal("ok", await Get(old, port));
            Assert.Single(seenByOld); // the same connection: no new handshake
            var seenByNew = new List<X509Certificate2>();
            using var fresh = Client(client, seenByNew);
            Assert.Equal("ok", await Get(fresh, port));
            Assert.NotEqual(first.Thumbprint, Assert.Single(seenByNew).Thumbprint);
            Assert.Null(identity.HealthProblem());
        }
        finally
        {
            await renewal.StopAsync(CancellationToken.None);
            await app.StopAsync();
        }
    }

    [Fact]
    public async Task An_identity_that_expires_because_renewal_fails_is_a_health_problem_with_the_reason()
    {
        var time = new TimerCountingTimeProvider(DateTimeOffset.UtcNow);
        using var ca = CertificateAuthority.Create("expiry-tests", time);
        var signer = new FlakySigner(new LocalSigner(ca, TimeSpan.FromMinutes(10)));
        var identity = await RenewableIdentity.ObtainAsync(signer, TrustBundle.FromPem(ca.TrustAnchorsPem), Server, TimeSpan.FromSeconds(5), time);
        Assert.Null(identity.HealthProblem(time));
        signer.Failing = true;
        using var renewal = new IdentityRenewal(identity, time, NullLogger<IdentityRenewal>.Instance);
        var timers = time.TimersCreated;
        await renewal.StartAsync(CancellationToken.None);
        try
        {
            // Its wait for 70 % is set before the clock moves, or it would be set from the moved clock.
            await time.TimersCreatedAsync(timers + 1).WaitAsync(TimeSpan.FromSeconds(10));
            time.Advance(TimeSpan.FromMinutes(7.5)); // past 70 %
            await Poll.UntilAsync(() => Task.FromResult(identity.RenewalError is not null), TimeSpan.FromSeconds(10), "a failed renewal");
            Assert.Null(identity.HealthProblem(time)); // failing, but not expired yet

            time.Advance(TimeSpan.FromMinutes(3));
            var problem = identity.HealthProblem(time);
            Assert.NotNull(problem);
            Assert.Contains("expired", problem, StringComparison.Ordinal);
            Assert.Contains(Server.ToString(), problem, StringComparison.Ordinal);
            Assert.Contains("renewal failing:", problem, StringComparison.Ordinal);
            Assert.Contains("the Sentry is unreachable", problem, StringComparison.Ordinal);

            // A renewal that succeeds again clears it.
            signer.Failing = false;
            await Poll.UntilAsync(() =>
            {
                time.Advance(TimeSpan.FromSeconds(1)); // lets the pending retry fire, whenever it was scheduled
                return Task.FromResult(identity.HealthProblem(time) is null);
            }, TimeSpan.FromSeconds(10), "recovery");
        }
        finally
        {
            await renewal.StopAsync(CancellationToken.None);
        }
    }

    private static WorkloadIdentity Issued(CertificateAuthority ca, SpiffeId id)
    {
        var certificate = ca.Issue(id);
        return WorkloadIdentity.FromPem(ca.TrustAnchorsPem, certificate.CertificatePem, certificate.KeyPem);
    }

    private static HttpClient Client(WorkloadIdentity identity, List<X509Certificate2> seen)
    {
        var options = identity.ClientOptions(_ => true);
        var verify = options.RemoteCertificateValidationCallback!;
        options.RemoteCertificateValidationCallback = (sender, certificate, chain, errors) =>
        {
            lock (seen) seen.Add(new X509Certificate2((X509Certificate2)certificate!));
            return verify(sender, certificate, chain, errors);
        };
        return new HttpClient(new SocketsHttpHandler { SslOptions = options, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) })
        {
            DefaultRequestVersion = HttpVersion.Version20,
            DefaultVersionPolicy = HttpVersionPolicy.RequestVersionExact,
            Timeout = TimeSpan.FromSeconds(10),
        };
    }

    private static Task<string> Get(HttpClient client, int port) => client.GetStringAsync($"https://127.0.0.1:{port}/");

    private sealed class FlakySigner(ICertificateSigner inner) : ICertificateSigner
    {
        public volatile bool Failing;

        public Task<X509Certificate2> SignAsync(SpiffeId id, string csrPem, CancellationToken cancellationToken) =>
            Failing ? throw new Grpc.Core.RpcException(new Grpc.Core.Status(Grpc.Core.StatusCode.Unavailable, "the Sentry is unreachable"))
                : inner.SignAsync(id, csrPem, cancellationToken);
    }
}
