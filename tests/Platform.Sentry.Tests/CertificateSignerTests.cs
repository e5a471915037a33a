using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Security;
using Platform.SentryProtocol.V1;

namespace Platform.Sentry.Tests;

/// <summary>SignCertificate's checks, in process: who may ask for what, and which requests are refused with which status.</summary>
public sealed class CertificateSignerTests : IDisposable
{
    private static readonly SpiffeId Worker = new(SpiffeId.DefaultTrustDomain, "default", "backupworker");
    private static readonly SpiffeId Api = new(SpiffeId.DefaultTrustDomain, "default", "backupapi");
    private const string WorkerToken = "worker-token-0123456789abcdef";
    private const string ApiToken = "api-token-0123456789abcdef";

    private readonly CertificateAuthority _ca = CertificateAuthority.Create("signer-tests");
    private readonly CertificateSigner _signer;

    public CertificateSignerTests()
    {
        var tokens = BootstrapTokens.Parse(BootstrapTokens.Entry(Worker, WorkerToken) + "," + BootstrapTokens.Entry(Api, ApiToken));
        _signer = new CertificateSigner(_ca, tokens, TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(30), NullLogger<CertificateSigner>.Instance);
    }

    [Fact]
    public void Signs_the_token_holders_key_for_its_identity_and_the_configured_lifetime()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var before = DateTimeOffset.UtcNow;
        var response = _signer.Sign(Request(Worker, WorkerToken, Csr(key, Worker)));

        using var certificate = X509Certificate2.CreateFromPem(response.WorkloadCertificate.ToStringUtf8());
        Assert.Equal(Worker, TrustBundle.FromPem(_ca.TrustAnchorsPem).Verify(certificate, out var error));
        Assert.Null(error);
        using var certified = certificate.GetECDsaPublicKey()!;
        Assert.Equal(key.ExportSubjectPublicKeyInfo(), certified.ExportSubjectPublicKeyInfo());
        var notAfter = new DateTimeOffset(certificate.NotAfter.ToUniversalTime());
        Assert.InRange(notAfter - before, TimeSpan.FromMinutes(3) - TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(3) + TimeSpan.FromSeconds(30));
        // Backdated by the allowed clock skew, as Sentry does.
        Assert.True(certificate.NotBefore.ToUniversalTime() <= before.UtcDateTime - TimeSpan.FromSeconds(29));
        Assert.Equal(notAfter, response.ValidUntil.ToDateTimeOffset());
        Assert.Equal(_ca.TrustAnchorsPem.Trim(), Assert.Single(response.TrustChainCertificates).ToStringUtf8().Trim());
    }

    [Fact]
    public void A_wrong_token_or_another_apps_token_is_permission_denied()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertRefused(StatusCode.PermissionDenied, "token", Request(Worker, "not-the-token", Csr(key, Worker)));
        // BackupApi's real token does not buy BackupWorker's identity.
        AssertRefused(StatusCode.PermissionDenied, "token", Request(Worker, ApiToken, Csr(key, Worker)));
        AssertRefused(StatusCode.PermissionDenied, "token", Request(Worker, "", Csr(key, Worker)));
        // The same app id in another namespace or trust domain is another identity.
        AssertRefused(StatusCode.PermissionDenied, "token", Request(Worker with { Namespace = "other" }, WorkerToken, Csr(key, Worker with { Namespace = "other" })));
        AssertRefused(StatusCode.PermissionDenied, "token", Request(Worker with { TrustDomain = "evil.example" }, WorkerToken, Csr(key, Worker with { TrustDomain = "evil.example" })));
        AssertRefused(StatusCode.PermissionDenied, "token", Request(Worker, new string('x', 5000), Csr(key, Worker)));
    }

    [Fact]
    public void A_request_whose_csr_names_another_identity_is_permission_denied()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertRefused(StatusCode.PermissionDenied, "asks for spiffe://public/ns/default/backupapi", Request(Worker, WorkerToken, Csr(key, Api)));
        AssertRefused(StatusCode.PermissionDenied, "asks for", Request(Worker, WorkerToken, Csr(key, Worker, extraUri: "spiffe://public/ns/default/backupworker/x")));
    }

    [Fact]
    public void Malformed_requests_get_daprs_invalid_argument_statuses()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertRefused(StatusCode.InvalidArgument, "invalid certificate signing request", Request(Worker, WorkerToken, "not pem"));
        AssertRefused(StatusCode.InvalidArgument, "invalid certificate signing request", Request(Worker, WorkerToken, _ca.TrustAnchorsPem));
        AssertRefused(StatusCode.InvalidArgument, "failed to parse certificate signing request",
            Request(Worker, WorkerToken, PemEncoding.WriteString("CERTIFICATE REQUEST", [0x30, 0x03, 0x02, 0x01, 0x00])));

        // A CSR signed by another key than the one it carries: no proof of possession.
        var good = Convert.FromBase64String(string.Concat(Csr(key, Worker).Split('\n').Where(l => !l.StartsWith("-----", StringComparison.Ordinal))));
        good[^3] ^= 0x55; // inside the signature
        AssertRefused(StatusCode.InvalidArgument, "invalid signature", Request(Worker, WorkerToken, PemEncoding.WriteString("CERTIFICATE REQUEST", good)));

        using var weak = RSA.Create(1024);
        var weakCsr = new CertificateRequest("", weak, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1).CreateSigningRequestPem();
        AssertRefused(StatusCode.InvalidArgument, "unsupported key", Request(Worker, WorkerToken, weakCsr));

        AssertRefused(StatusCode.PermissionDenied, "id must be", Request(Worker with { AppId = "a/b" }, WorkerToken, Csr(key, Worker)));
        AssertRefused(StatusCode.PermissionDenied, "namespace must be", Request(Worker with { Namespace = "" }, WorkerToken, Csr(key, Worker)));
    }

    [Fact]
    public void The_bootstrap_token_list_holds_hashes_and_refuses_bad_entries()
    {
        var entry = BootstrapTokens.Entry(Worker, WorkerToken);
        Assert.DoesNotContain(WorkerToken, entry, StringComparison.Ordinal);
        Assert.True(BootstrapTokens.Parse(entry).Allows(Worker, WorkerToken));
        Assert.Throws<FormatException>(() => BootstrapTokens.Parse("spiffe://public/ns/default/x=abcd"));
        Assert.Throws<FormatException>(() => BootstrapTokens.Parse("backupworker=" + new string('0', 64)));
        Assert.Throws<FormatException>(() => BootstrapTokens.Parse(entry + "," + entry));
        // Replicas of one app id each have their own token.
        var replicas = BootstrapTokens.Parse(entry + "," + BootstrapTokens.Entry(Worker, "second-replica-token"));
        Assert.True(replicas.Allows(Worker, WorkerToken));
        Assert.True(replicas.Allows(Worker, "second-replica-token"));
        Assert.False(replicas.Allows(Api, "second-replica-token"));
    }

    private void AssertRefused(StatusCode code, string message, SignCertificateRequest request)
    {
        var refused = Assert.Throws<RpcException>(() => _signer.Sign(request));
        Assert.Equal(code, refused.StatusCode);
        Assert.Contains(message, refused.Status.Detail, StringComparison.Ordinal);
    }

    private static SignCertificateRequest Request(SpiffeId id, string token, string csrPem) => new()
    {
        Id = id.AppId,
        Namespace = id.Namespace,
        TrustDomain = id.TrustDomain,
        Token = token,
        CertificateSigningRequest = Google.Protobuf.ByteString.CopyFromUtf8(csrPem),
    };

    private static string Csr(ECDsa key, SpiffeId id, string? extraUri = null)
    {
        var request = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(id.ToUri());
        if (extraUri is not null) names.AddUri(new Uri(extraUri));
        request.CertificateExtensions.Add(names.Build());
        return request.CreateSigningRequestPem();
    }

    public void Dispose() => _ca.Dispose();
}
