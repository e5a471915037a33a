using System.Net;
using System.Net.Security;
using System.Security.Cryptography.X509Certificates;
using Platform.Security;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// A sidecar's internal port and its client side admit only exact identities: one URI name, exactly
/// spiffe://&lt;trust domain&gt;/ns/&lt;namespace&gt;/&lt;app id&gt; in the sidecar's trust domain, with the key usage of
/// the role (client-auth for a caller, server-auth for a server). Each certificate here chains to the anchors.
/// </summary>
public sealed class StrictIdentityTests(StrictIdentityTests.Callee callee) : IClassFixture<StrictIdentityTests.Callee>
{
    public sealed class Callee : IAsyncLifetime
    {
        public CustomAuthority Authority { get; } = new("strict");
        public HttpTestApp App { get; private set; } = null!;
        public SidecarProcess Sidecar { get; private set; } = null!;
        public int InternalPort { get; } = FreePort.Next();
        public string AppId { get; } = Sidecars.UniqueAppId("strict-callee");

        public async Task InitializeAsync()
        {
            App = await HttpTestApp.StartAsync();
            Sidecar = await SidecarProcess.StartAsync(new SidecarSettings(AppId)
            {
                AppPort = App.Port,
                SchedulerHostAddress = "",
                Mtls = false,
                ExtraArgs = ["--enable-mtls", "--dapr-internal-grpc-port", InternalPort.ToString(), .. Authority.Files(TestIdentity.App(AppId)).Flags()],
            }, TimeSpan.FromSeconds(90));
        }

        public async Task DisposeAsync()
        {
            if (Sidecar is not null) await Sidecar.DisposeAsync();
            if (App is not null) await App.DisposeAsync();
            Authority.Dispose();
        }
    }

    public static TheoryData<string, string[], KeyPurpose[]> Refused => new()
    {
        { "another trust domain", ["spiffe://evil.example/ns/default/caller"], [KeyPurpose.ClientAuth] },
        { "an extra path segment", ["spiffe://public/ns/default/caller/anything"], [KeyPurpose.ClientAuth] },
        { "server-auth only", ["spiffe://public/ns/default/caller"], [KeyPurpose.ServerAuth] },
        { "no extended key usage", ["spiffe://public/ns/default/caller"], [] },
        { "a second URI name", ["spiffe://public/ns/default/caller", "https://example.com/caller"], [KeyPurpose.ClientAuth] },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task The_internal_port_refuses_a_caller_whose_certificate_is_not_exactly_a_client_identity(string what, string[] uris, KeyPurpose[] purposes)
    {
        using var certificate = callee.Authority.Issue(uris, purposes);
        using var client = new HttpClient(CustomAuthority.ClientHandler(certificate)) { Timeout = TimeSpan.FromSeconds(20) };
        HttpStatusCode? status = null;
        try
        {
            using var response = await client.GetAsync($"https://127.0.0.1:{callee.InternalPort}/v1.0-internal/invoke/{callee.AppId}/method/{what.Replace(' ', '-')}");
            status = response.StatusCode;
        }
        catch (HttpRequestException)
        {
            // Refused at the handshake.
        }
        Assert.True(status is null or HttpStatusCode.Forbidden, $"{what}: {status}");
        Assert.False(callee.App.Other.Reader.TryRead(out var leaked), $"{what} reached the app: {leaked?.Path}");
    }

    [Fact]
    public async Task The_same_authority_s_exact_client_identity_is_served()
    {
        using var certificate = callee.Authority.Issue(["spiffe://public/ns/default/caller"], KeyPurpose.ClientAuth);
        using var client = new HttpClient(CustomAuthority.ClientHandler(certificate)) { Timeout = TimeSpan.FromSeconds(20) };
        using var response = await client.GetAsync($"https://127.0.0.1:{callee.InternalPort}/v1.0-internal/invoke/{callee.AppId}/method/exact");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("caller", (await callee.App.Other.NextAsync(TimeSpan.FromSeconds(10), "invoked request")).Headers["dapr-caller-app-id"]);
    }

    [Fact]
    public void A_client_accepts_a_server_only_with_the_server_auth_usage_and_an_exact_id()
    {
        var me = callee.Authority.IssuePem(["spiffe://public/ns/default/me"], KeyPurpose.ClientAuth, KeyPurpose.ServerAuth);
        using var identity = WorkloadIdentity.FromPem(callee.Authority.TrustAnchorsPem, me.CertificatePem, me.KeyPem);
        var validate = identity.ClientOptions(_ => true).RemoteCertificateValidationCallback!;
        bool Accepts(string[] uris, params KeyPurpose[] purposes)
        {
            using var server = callee.Authority.Issue(uris, purposes);
            return validate(this, server, null, SslPolicyErrors.None);
        }
        Assert.True(Accepts(["spiffe://public/ns/default/server"], KeyPurpose.ServerAuth));
        Assert.False(Accepts(["spiffe://public/ns/default/server"], KeyPurpose.ClientAuth));
        Assert.False(Accepts(["spiffe://public/ns/default/server/extra"], KeyPurpose.ServerAuth));
        Assert.False(Accepts(["spiffe://public/ns/default/server", "spiffe://public/ns/default/other"], KeyPurpose.ServerAuth));
    }
}
