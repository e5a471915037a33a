using System.Formats.Asn1;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Security;
using Platform.Security.Renewal;
using Platform.SentryProtocol.V1;

namespace Platform.Sentry;

/// <summary>
/// What SignCertificate does, in Dapr's order and with its statuses: the requester's token must be the one issued for
/// the identity it names (else PERMISSION_DENIED); the CSR must be PEM, parse, carry a valid self-signature (proof it
/// holds the key) and use a key we accept (else INVALID_ARGUMENT); a SPIFFE id it asks for must be that same identity.
/// The certificate is then built from the CSR's key alone, for the configured lifetime. An etcd client id
/// (<see cref="EtcdClientIdentity"/>) is signed by etcd's CA instead, and only for a token on the etcd list: the two
/// lists and the two CAs never mix, so no workload token gets an etcd certificate and no etcd token a workload one.
/// </summary>
public sealed partial class CertificateSigner(CertificateAuthority authority, BootstrapTokens tokens, TimeSpan lifetime, TimeSpan clockSkew,
    ILogger<CertificateSigner> logger, EtcdClientSigning? etcd = null)
{
    /// <summary>Longer names are refused unread (a DNS label limit is 63, a name 253).</summary>
    private const int MaxNameLength = 253;

    public SignCertificateResponse Sign(SignCertificateRequest request)
    {
        var id = Requested(request);
        var forEtcd = EtcdClientIdentity.IsEtcdClient(id);
        var (signer, allowed) = forEtcd ? (etcd?.Authority, etcd?.Tokens) : (authority, tokens);
        if (signer is null || allowed is null)
        {
            LogRefused(logger, id.ToString(), "no etcd CA");
            throw Denied($"this Sentry signs no etcd client certificates ({id})");
        }
        if (!allowed.Allows(id, request.Token))
        {
            LogRefused(logger, id.ToString(), "bad token");
            throw Denied($"the token is not valid for {id}");
        }
        var csr = Parse(request.CertificateSigningRequest.Span);
        foreach (var uri in RequestedUris(csr))
            if (uri != id.ToString())
            {
                LogRefused(logger, id.ToString(), "CSR names " + uri);
                throw Denied($"the certificate signing request asks for {uri}, but the token is for {id}");
            }
        X509Certificate2 certificate;
        try
        {
            certificate = signer.Sign(csr, id, lifetime, clockSkew);
        }
        catch (CryptographicException e)
        {
            LogSignFailed(logger, id.ToString(), e.Message);
            throw new RpcException(new Status(StatusCode.Internal, "failed to sign certificate"));
        }
        using (certificate)
        {
            LogSigned(logger, id.ToString(), certificate.NotAfter.ToUniversalTime());
            return new SignCertificateResponse
            {
                WorkloadCertificate = Google.Protobuf.ByteString.CopyFromUtf8(certificate.ExportCertificatePem() + "\n"),
                TrustChainCertificates = { Google.Protobuf.ByteString.CopyFromUtf8(signer.TrustAnchorsPem + "\n") },
                ValidUntil = Timestamp.FromDateTime(certificate.NotAfter.ToUniversalTime()),
            };
        }
    }

    private static SpiffeId Requested(SignCertificateRequest request)
    {
        foreach (var (field, value) in new[] { ("id", request.Id), ("namespace", request.Namespace), ("trust_domain", request.TrustDomain) })
            if (value.Length is 0 or > MaxNameLength || value.Any(c => c is '/' or '=' or ',' || char.IsWhiteSpace(c) || char.IsControl(c)))
                throw Denied($"{field} must be 1 to {MaxNameLength} characters without '/', '=', ',' or spaces");
        if (request.Token.Length > BootstrapTokens.MaxTokenLength) throw Denied("the token is not valid");
        return new SpiffeId(request.TrustDomain, request.Namespace, request.Id);
    }

    private static CertificateRequest Parse(ReadOnlySpan<byte> pem)
    {
        var text = Encoding.ASCII.GetString(pem);
        if (!PemEncoding.TryFind(text, out var fields) || text[fields.Label] != "CERTIFICATE REQUEST")
            throw Invalid("invalid certificate signing request");
        var der = Convert.FromBase64String(text[fields.Base64Data]);
        // Its extensions are loaded only to read what it asks for: none of them is copied into the certificate.
        const CertificateRequestLoadOptions readExtensions = CertificateRequestLoadOptions.UnsafeLoadCertificateExtensions;
        CertificateRequest csr;
        try
        {
            csr = CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, readExtensions | CertificateRequestLoadOptions.SkipSignatureValidation);
        }
        catch (CryptographicException e)
        {
            throw Invalid($"failed to parse certificate signing request: {e.Message}");
        }
        try
        {
            CertificateRequest.LoadSigningRequest(der, HashAlgorithmName.SHA256, readExtensions);
        }
        catch (CryptographicException)
        {
            throw Invalid("invalid signature");
        }
        if (!Acceptable(csr.PublicKey)) throw Invalid("unsupported key: use ECDSA P-256 or P-384, or RSA of 2048 bits or more");
        return csr;
    }

    private static bool Acceptable(PublicKey key)
    {
        if (key.GetECDsaPublicKey() is { } ec)
        {
            using (ec) return ec.KeySize is 256 or 384;
        }
        if (key.GetRSAPublicKey() is { } rsa)
        {
            using (rsa) return rsa.KeySize >= 2048;
        }
        return false;
    }

    /// <summary>The URIs of the CSR's requested subject alternative name, if it asks for one.</summary>
    private static List<string> RequestedUris(CertificateRequest csr)
    {
        var uris = new List<string>();
        var san = csr.CertificateExtensions.FirstOrDefault(e => e.Oid?.Value == "2.5.29.17");
        if (san is null) return uris;
        try
        {
            var reader = new AsnReader(san.RawData, AsnEncodingRules.DER).ReadSequence();
            var uriTag = new Asn1Tag(TagClass.ContextSpecific, 6);
            while (reader.HasData)
            {
                if (reader.PeekTag().HasSameClassAndValue(uriTag)) uris.Add(reader.ReadCharacterString(UniversalTagNumber.IA5String, uriTag));
                else reader.ReadEncodedValue();
            }
        }
        catch (AsnContentException e)
        {
            throw Invalid($"failed to parse certificate signing request: {e.Message}");
        }
        return uris;
    }

    private static RpcException Denied(string message) => new(new Status(StatusCode.PermissionDenied, message));

    private static RpcException Invalid(string message) => new(new Status(StatusCode.InvalidArgument, message));

    [LoggerMessage(Level = LogLevel.Information, Message = "Signed a certificate for {Id}, valid until {NotAfter:O}")]
    private static partial void LogSigned(ILogger logger, string id, DateTime notAfter);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a certificate for {Id}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string id, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Signing a certificate for {Id} failed: {Error}")]
    private static partial void LogSignFailed(ILogger logger, string id, string error);
}
