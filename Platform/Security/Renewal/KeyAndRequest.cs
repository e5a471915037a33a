using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Security.Renewal;

/// <summary>
/// A fresh ECDSA P-256 key that lives only in this process's memory, and the signing request for it naming the SPIFFE
/// id (the CSR daprd sends). The key is never exported: the signed certificate is joined to it in memory.
/// </summary>
internal sealed class KeyAndRequest
{
    private readonly ECDsa _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);

    public KeyAndRequest(SpiffeId id)
    {
        var request = new CertificateRequest(new X500DistinguishedName(""), _key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddUri(id.ToUri());
        request.CertificateExtensions.Add(names.Build(critical: true));
        CsrPem = request.CreateSigningRequestPem();
    }

    public string CsrPem { get; }

    /// <summary>The certificate with this key, refused unless it certifies this key (a signer must not swap it).</summary>
    public X509Certificate2 Join(X509Certificate2 signed)
    {
        using var certified = signed.GetECDsaPublicKey();
        if (certified is null || !certified.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(_key.ExportSubjectPublicKeyInfo()))
            throw new IdentityException("the signed certificate is not for the key this process asked for");
        // On Linux the joined certificate keeps the key in memory (OpenSSL), usable by SslStream on both ends.
        return signed.CopyWithPrivateKey(_key);
    }
}
