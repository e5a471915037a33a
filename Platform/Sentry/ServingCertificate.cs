using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Platform.Security;
using Platform.Security.Renewal;

namespace Platform.Sentry;

/// <summary>
/// The Sentry's own TLS certificate (<c>spiffe://&lt;trust domain&gt;/ns/&lt;namespace&gt;/dapr-sentry</c>), signed by the
/// CA it holds and replaced at the first handshake after 70 % of its life, as every other process renews its own.
/// </summary>
public sealed partial class ServingCertificate(CertificateAuthority authority, SpiffeId id, TimeSpan lifetime, TimeSpan clockSkew, TimeProvider time, ILogger logger)
{
    private readonly Lock _gate = new();
    private X509Certificate2? _current;
    private DateTimeOffset _renewAt;

    public SpiffeId Id => id;

    public X509Certificate2 Current()
    {
        lock (_gate)
        {
            var now = time.GetUtcNow();
            if (_current is null || now >= _renewAt)
            {
                // Not disposed: the certificate below keeps using this in-memory key.
                var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
                var csr = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
                using var signed = authority.Sign(csr, id, lifetime, clockSkew);
                _current = signed.CopyWithPrivateKey(key);
                _renewAt = RenewableIdentity.RenewalTime(now, new DateTimeOffset(_current.NotAfter.ToUniversalTime()));
                LogServing(logger, id.ToString(), _current.NotAfter.ToUniversalTime());
            }
            return _current;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving as {Id} with a certificate valid until {NotAfter:O}")]
    private static partial void LogServing(ILogger logger, string id, DateTime notAfter);
}
