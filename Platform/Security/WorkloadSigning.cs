using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Security;

/// <summary>
/// The one shape of a workload certificate (an X.509-SVID): no subject, exactly one SPIFFE URI name, not a CA, digital
/// signature, client and server authentication; backdated by the allowed clock skew, never outliving its issuer.
/// </summary>
internal static class WorkloadSigning
{
    public static X509Certificate2 Sign(CertificateRequest csr, SpiffeId id, X509Certificate2 issuer, ECDsa issuerKey,
        DateTimeOffset now, TimeSpan lifetime, TimeSpan clockSkew)
    {
        if (lifetime <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(lifetime), "a certificate must live a while");
        // Only the key of the request is taken: its subject, extensions and attributes are the requester's wishes.
        var request = new CertificateRequest(new X500DistinguishedName(""), csr.PublicKey, HashAlgorithmName.SHA256);
        return SignLeaf(request, request =>
        {
            var names = new SubjectAlternativeNameBuilder();
            names.AddUri(id.ToUri());
            request.CertificateExtensions.Add(names.Build(critical: true));
        }, issuer, issuerKey, now, lifetime, clockSkew);
    }

    /// <summary>
    /// Every leaf certificate the run's authorities sign, workload or not: not a CA, digital signature, client and server
    /// authentication, the names <paramref name="addNames"/> adds, a random serial; backdated by the clock skew, never
    /// outliving its issuer.
    /// </summary>
    public static X509Certificate2 SignLeaf(CertificateRequest request, Action<CertificateRequest> addNames,
        X509Certificate2 issuer, ECDsa issuerKey, DateTimeOffset now, TimeSpan lifetime, TimeSpan clockSkew)
    {
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(
            [new Oid("1.3.6.1.5.5.7.3.1"), new Oid("1.3.6.1.5.5.7.3.2")], false)); // server and client authentication
        addNames(request);
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(issuer, true, false));
        var notAfter = now + lifetime;
        if (notAfter > issuer.NotAfter) notAfter = issuer.NotAfter;
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        return request.Create(issuer.SubjectName, X509SignatureGenerator.CreateForECDsa(issuerKey), now - clockSkew, notAfter, serial);
    }
}
