using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Security.Renewal;

/// <summary>
/// Signs with a certificate authority held in this process (the AppHost's own identity): the same requests and
/// lifetimes as the Sentry's, without a network hop to the process the AppHost itself gave the key to.
/// </summary>
public sealed class LocalSigner(CertificateAuthority authority, TimeSpan lifetime) : ICertificateSigner
{
    public Task<X509Certificate2> SignAsync(SpiffeId id, string csrPem, CancellationToken cancellationToken)
    {
        var csr = CertificateRequest.LoadSigningRequestPem(csrPem, HashAlgorithmName.SHA256);
        return Task.FromResult(authority.Sign(csr, id, lifetime));
    }
}
