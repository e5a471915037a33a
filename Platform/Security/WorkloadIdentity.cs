using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Security;

/// <summary>
/// A process's own X.509-SVID (certificate and key) with the trust anchors it checks peers against; it makes the TLS
/// settings of both ends of an mTLS connection.
/// </summary>
public sealed class WorkloadIdentity : IDisposable
{
    private X509Certificate2 _certificate;

    private WorkloadIdentity(X509Certificate2 certificate, SpiffeId id, TrustBundle trust)
    {
        _certificate = certificate;
        Id = id;
        Trust = trust;
    }

    /// <summary>The current certificate: read it at each handshake, since renewal replaces it (see Renewal/).</summary>
    public X509Certificate2 Certificate => Volatile.Read(ref _certificate);
    public SpiffeId Id { get; }
    public TrustBundle Trust { get; }

    /// <summary>Loads the identity; throws <see cref="IdentityException"/> naming what is missing or wrong.</summary>
    public static WorkloadIdentity Load(IdentitySources sources, TimeProvider? time = null)
    {
        var anchors = sources.TrustAnchorsPem
            ?? throw new IdentityException($"mTLS needs trust anchors: --trust-anchors-file or {IdentitySources.TrustAnchorsVariable}");
        var chain = sources.CertChainPem
            ?? throw new IdentityException($"mTLS needs a certificate: --cert-chain-file or {IdentitySources.CertChainVariable}");
        var key = sources.CertKeyPem
            ?? throw new IdentityException($"mTLS needs the certificate's key: --cert-key-file or {IdentitySources.CertKeyVariable}");
        return FromPem(anchors, chain, key, time);
    }

    /// <summary>An identity from a certificate that holds its (in-memory) key; refused unless the trust anchors verify it.</summary>
    public static WorkloadIdentity FromCertificate(TrustBundle trust, X509Certificate2 certificate)
    {
        var id = trust.Verify(certificate, out var error) ?? throw new IdentityException($"own certificate refused: {error}");
        return new WorkloadIdentity(certificate, id, trust);
    }

    /// <summary>
    /// Swaps in a renewed certificate for new handshakes; established connections keep theirs. The old one is left to
    /// the collector, not disposed, since a handshake may be using it right now.
    /// </summary>
    public void Replace(X509Certificate2 renewed)
    {
        var id = Trust.Verify(renewed, out var error) ?? throw new IdentityException($"renewed certificate refused: {error}");
        if (id != Id) throw new IdentityException($"renewed certificate names {id}, not {Id}");
        Volatile.Write(ref _certificate, renewed);
    }

    /// <summary>Why the last renewal failed, while it keeps failing; null once one succeeds.</summary>
    public string? RenewalError { get; internal set; }

    public static WorkloadIdentity FromPem(string trustAnchorsPem, string certChainPem, string keyPem, TimeProvider? time = null)
    {
        var trust = TrustBundle.FromPem(trustAnchorsPem, time);
        X509Certificate2 certificate;
        try
        {
            certificate = X509Certificate2.CreateFromPem(certChainPem, keyPem);
        }
        catch (CryptographicException e)
        {
            // The message never quotes the key.
            throw new IdentityException($"certificate and key do not load as a PEM pair: {e.Message}", e);
        }
        var id = trust.Verify(certificate, out var error);
        if (id is null)
        {
            certificate.Dispose();
            throw new IdentityException($"own certificate refused: {error}");
        }
        return new WorkloadIdentity(certificate, id, trust);
    }

    /// <summary>
    /// Client side: present this identity and accept only a server whose certificate chains to the anchors and whose
    /// SPIFFE id <paramref name="authorize"/> accepts (Dapr's tlsconfig.AuthorizeID and friends).
    /// </summary>
    public SslClientAuthenticationOptions ClientOptions(Func<SpiffeId, bool> authorize) => new()
    {
        ClientCertificates = [Certificate],
        // Present our certificate whatever CA names the server lists.
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Certificate,
        RemoteCertificateValidationCallback = (_, certificate, _, _) =>
            certificate is not null && Trust.Verify(certificate as X509Certificate2 ?? new X509Certificate2(certificate), KeyPurpose.ServerAuth, out _) is { } id && authorize(id),
        EnabledSslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
    };

    /// <summary>An HTTP handler that speaks mTLS as this identity to servers <paramref name="authorize"/> accepts.</summary>
    public SocketsHttpHandler CreateHandler(Func<SpiffeId, bool> authorize, SocketsHttpHandler? handler = null)
    {
        handler ??= new SocketsHttpHandler();
        handler.SslOptions = ClientOptions(authorize);
        return handler;
    }

    public void Dispose() => Certificate.Dispose();
}
