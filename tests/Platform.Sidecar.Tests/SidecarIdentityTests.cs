using System.Net;
using System.Security.Cryptography.X509Certificates;
using Platform.Security;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>daprd's --enable-mtls: sidecars invoke each other over mTLS only, each proving its app id with its certificate.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class SidecarIdentityTests(SchedulerFixture fixture) : IDisposable
{
    private readonly string _registry = Path.Combine(Path.GetTempPath(), $"sidecar-registry-{Guid.NewGuid():N}.db");

    [Fact]
    public async Task The_internal_route_refuses_callers_without_a_valid_certificate_and_names_the_caller_by_its_certificate()
    {
        const string token = "run-token";
        var tokens = new Dictionary<string, string?> { ["DAPR_API_TOKEN"] = token };
        await using var calleeApp = await HttpTestApp.StartAsync();
        var calleeId = Sidecars.UniqueAppId("callee");
        await using var callee = await Sidecars.StartAsync(fixture, calleeId, calleeApp.Port, registry: _registry, waitForStream: false, environment: tokens);
        var url = $"https://127.0.0.1:{callee.InternalPort}/v1.0-internal/invoke/{calleeId}/method/hello";

        // No certificate at all.
        using (var anonymous = new HttpClient(new SocketsHttpHandler { SslOptions = { RemoteCertificateValidationCallback = (_, _, _, _) => true } }))
            await Assert.ThrowsAsync<HttpRequestException>(() => SendAsync(anonymous, url, token));

        // A certificate from another authority, however well it names an app.
        using var other = CertificateAuthority.Create("intruder");
        var issued = other.Issue(TestIdentity.App("caller"));
        using var foreign = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.KeyPem);
        using (var intruder = new HttpClient(new SocketsHttpHandler
        {
            SslOptions =
            {
                ClientCertificates = [foreign],
                LocalCertificateSelectionCallback = (_, _, _, _, _) => foreign,
                RemoteCertificateValidationCallback = (_, _, _, _) => true,
            },
        }))
            await Assert.ThrowsAsync<HttpRequestException>(() => SendAsync(intruder, url, token));

        // Plain HTTP to the internal port.
        using (var plain = new HttpClient())
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => SendAsync(plain, url.Replace("https://", "http://"), token));
        Assert.Equal(0, calleeApp.Other.Reader.Count);

        // A sidecar's certificate passes; the app learns the caller from it, not from the header it sent.
        using var caller = new HttpClient(TestIdentity.Identity(TestIdentity.App("real-caller")).CreateHandler(id => id.AppId == calleeId));
        using var response = await SendAsync(caller, url, token, claimedCaller: "someone-else");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var seen = await calleeApp.Other.NextAsync(TimeSpan.FromSeconds(10), "invoked request");
        Assert.Equal("real-caller", seen.Headers["dapr-caller-app-id"]);
    }

    [Fact]
    public async Task A_caller_does_not_talk_to_a_sidecar_whose_certificate_names_another_app()
    {
        var calleeId = Sidecars.UniqueAppId("callee");
        await using var callee = await Sidecars.StartAsync(fixture, calleeId, registry: _registry, waitForStream: false);
        using var expectingSomeoneElse = new HttpClient(TestIdentity.Identity(TestIdentity.App("caller")).CreateHandler(id => id.AppId == "someone-else"));
        await Assert.ThrowsAsync<HttpRequestException>(() =>
            SendAsync(expectingSomeoneElse, $"https://127.0.0.1:{callee.InternalPort}/v1.0-internal/invoke/{calleeId}/method/x", null));
    }

    [Fact]
    public async Task A_sidecar_refuses_to_start_with_a_certificate_for_another_app()
    {
        var files = TestIdentity.Files(TestIdentity.App("someone-else"));
        await using var sidecar = TestProcess.StartDotnet("sidecar-wrong-id", RepoPaths.ProjectOutput("Platform/Sidecar", "Platform.Sidecar"),
            ["--app-id", "me", "--dapr-http-port", FreePort.Next().ToString(), "--dapr-grpc-port", FreePort.Next().ToString(),
             "--metrics-port", FreePort.Next().ToString(), "--enable-mtls", .. files.Flags()]);
        await sidecar.WaitForOutputAsync(l => l.Contains("the certificate names spiffe://public/ns/default/someone-else, but this sidecar is app me in namespace default"),
            TimeSpan.FromSeconds(30));
        Assert.Equal(2, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));
    }

    [Fact]
    public async Task A_sidecar_refuses_to_start_with_a_certificate_outside_its_configurations_trust_domain()
    {
        var files = TestIdentity.Files(TestIdentity.App("me"));
        var config = Path.Combine(Path.GetTempPath(), $"trust-domain-{Guid.NewGuid():N}.yaml");
        File.WriteAllText(config, "kind: Configuration\nspec:\n  accessControl:\n    defaultAction: allow\n    trustDomain: example.org\n");
        try
        {
            await using var sidecar = TestProcess.StartDotnet("sidecar-wrong-domain", RepoPaths.ProjectOutput("Platform/Sidecar", "Platform.Sidecar"),
                ["--app-id", "me", "--dapr-http-port", FreePort.Next().ToString(), "--dapr-grpc-port", FreePort.Next().ToString(),
                 "--metrics-port", FreePort.Next().ToString(), "--enable-mtls", "--config", config, .. files.Flags()]);
            await sidecar.WaitForOutputAsync(l => l.Contains("accessControl.trustDomain is 'example.org', but this sidecar's certificate names trust domain 'public'"),
                TimeSpan.FromSeconds(30));
            Assert.Equal(2, await sidecar.WaitForExitAsync(TimeSpan.FromSeconds(30)));
        }
        finally
        {
            File.Delete(config);
        }
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient client, string url, string? token, string? claimedCaller = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (token is not null) request.Headers.Add("dapr-api-token", token);
        if (claimedCaller is not null) request.Headers.Add("dapr-caller-app-id", claimedCaller);
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        return await client.SendAsync(request, cts.Token);
    }

    public void Dispose()
    {
        foreach (var f in new[] { _registry, _registry + "-wal", _registry + "-shm" })
            try { File.Delete(f); } catch (IOException) { }
    }
}
