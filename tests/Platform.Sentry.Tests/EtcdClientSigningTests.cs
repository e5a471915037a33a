using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Grpc.Core;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Security;
using Platform.Security.Renewal;
using Platform.SentryProtocol.V1;

namespace Platform.Sentry.Tests;

/// <summary>
/// Etcd client certificates from the Sentry: only a scheduler replica's token on the etcd list gets one, signed by
/// etcd's CA (never the workload root); no sidecar's or app's token does, for any id.
/// </summary>
public sealed class EtcdClientSigningTests : IDisposable
{
    private static readonly SpiffeId Scheduler = SpiffeId.Scheduler();
    private static readonly SpiffeId SchedulerEtcd = EtcdClientIdentity.For(Scheduler);
    private static readonly SpiffeId Worker = new(SpiffeId.DefaultTrustDomain, "default", "backupworker");
    private const string ReplicaToken = "replica-token-0123456789abcdef";
    private const string WorkerToken = "worker-token-0123456789abcdef";

    private readonly CertificateAuthority _workloadCa = CertificateAuthority.Create("etcd-signing-tests");
    private readonly CertificateAuthority _etcdCa = CertificateAuthority.Create("etcd-signing-tests etcd");
    private readonly BootstrapTokens _workloadTokens = BootstrapTokens.Parse(
        BootstrapTokens.Entry(Scheduler, ReplicaToken) + "," + BootstrapTokens.Entry(Worker, WorkerToken));
    private readonly CertificateSigner _signer;

    public EtcdClientSigningTests()
    {
        var etcd = EtcdClientSigning.From(_etcdCa, BootstrapTokens.Entry(SchedulerEtcd, ReplicaToken), _workloadTokens);
        _signer = new CertificateSigner(_workloadCa, _workloadTokens, TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(30),
            NullLogger<CertificateSigner>.Instance, etcd);
    }

    public void Dispose()
    {
        _workloadCa.Dispose();
        _etcdCa.Dispose();
    }

    [Fact]
    public void A_replica_token_gets_its_etcd_client_certificate_from_etcds_ca_only()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var response = _signer.Sign(Request(SchedulerEtcd, ReplicaToken, key));
        using var certificate = X509Certificate2.CreateFromPem(response.WorkloadCertificate.ToStringUtf8());
        Assert.Equal(SchedulerEtcd, TrustBundle.FromPem(_etcdCa.TrustAnchorsPem).Verify(certificate, out _));
        // Not a workload certificate: nothing that trusts the workload root (every sidecar, the scheduler's API) takes it.
        Assert.Null(TrustBundle.FromPem(_workloadCa.TrustAnchorsPem).Verify(certificate, out _));
        Assert.Equal(_etcdCa.TrustAnchorsPem.Trim(), response.TrustChainCertificates.Single().ToStringUtf8().Trim());
        // And the same token still gets the workload certificate from the workload root.
        using var workload = X509Certificate2.CreateFromPem(_signer.Sign(Request(Scheduler, ReplicaToken, key)).WorkloadCertificate.ToStringUtf8());
        Assert.Equal(Scheduler, TrustBundle.FromPem(_workloadCa.TrustAnchorsPem).Verify(workload, out _));
    }

    [Fact]
    public void No_sidecar_or_app_token_gets_an_etcd_client_certificate()
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        AssertDenied(_signer, Request(SchedulerEtcd, WorkerToken, key));
        AssertDenied(_signer, Request(EtcdClientIdentity.For(Worker), WorkerToken, key));
        AssertDenied(_signer, Request(SchedulerEtcd, "", key));
        // A Sentry without etcd's CA signs no etcd client id, whatever the token.
        var plain = new CertificateSigner(_workloadCa, _workloadTokens, TimeSpan.FromMinutes(3), TimeSpan.FromSeconds(30), NullLogger<CertificateSigner>.Instance);
        AssertDenied(plain, Request(SchedulerEtcd, ReplicaToken, key));
    }

    [Fact]
    public void The_two_token_lists_never_hold_an_id_of_the_other_kind()
    {
        Assert.Throws<FormatException>(() => EtcdClientSigning.From(_etcdCa, BootstrapTokens.Entry(Worker, WorkerToken), _workloadTokens));
        Assert.Throws<FormatException>(() => EtcdClientSigning.From(_etcdCa, "",
            BootstrapTokens.Parse(BootstrapTokens.Entry(SchedulerEtcd, ReplicaToken))));
        Assert.Throws<FormatException>(() => EtcdClientSigning.From(null, BootstrapTokens.Entry(SchedulerEtcd, ReplicaToken), _workloadTokens));
        Assert.Null(EtcdClientSigning.From(null, null, _workloadTokens));
    }

    private static void AssertDenied(CertificateSigner signer, SignCertificateRequest request)
    {
        var refused = Assert.Throws<RpcException>(() => signer.Sign(request));
        Assert.Equal(StatusCode.PermissionDenied, refused.StatusCode);
    }

    private static SignCertificateRequest Request(SpiffeId id, string token, ECDsa key)
    {
        var csr = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(id.ToUri());
        csr.CertificateExtensions.Add(names.Build(critical: true));
        return new SignCertificateRequest
        {
            Id = id.AppId,
            Namespace = id.Namespace,
            TrustDomain = id.TrustDomain,
            Token = token,
            CertificateSigningRequest = Google.Protobuf.ByteString.CopyFromUtf8(csr.CreateSigningRequestPem()),
        };
    }
}
