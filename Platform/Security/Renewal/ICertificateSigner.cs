using System.Security.Cryptography.X509Certificates;

namespace Platform.Security.Renewal;

/// <summary>Whoever signs this process's certificate requests: the Sentry over its API, or a certificate authority in process.</summary>
public interface ICertificateSigner
{
    /// <summary>The signed certificate (without key) for the PEM certificate signing request of <paramref name="id"/>.</summary>
    Task<X509Certificate2> SignAsync(SpiffeId id, string csrPem, CancellationToken cancellationToken);
}
