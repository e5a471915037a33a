using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Security;

/// <summary>
/// Sentry's role for one run: a self-signed ECDSA P-256 root (the trust anchor) that issues workload certificates,
/// each naming one SPIFFE id in its URI name and good for client and server authentication. Lifetimes are Sentry's:
/// the root a year, a workload certificate 24 h, each valid from 15 minutes back to allow for clock skew.
/// </summary>
public sealed class CertificateAuthority : IDisposable
{
    public static readonly TimeSpan RootLifetime = TimeSpan.FromDays(365);
    public static readonly TimeSpan WorkloadLifetime = TimeSpan.FromHours(24);
    public static readonly TimeSpan AllowedClockSkew = TimeSpan.FromMinutes(15);

    private readonly ECDsa _key;
    private readonly X509Certificate2 _root;
    private readonly TimeProvider _time;
    private readonly Lock _files = new();

    private CertificateAuthority(ECDsa key, X509Certificate2 root, TimeProvider time)
    {
        _key = key;
        _root = root;
        _time = time;
    }

    /// <summary>The trust anchors to give every process of the run.</summary>
    public string TrustAnchorsPem => _root.ExportCertificatePem();

    public static CertificateAuthority Create(string name, TimeProvider? time = null)
    {
        time ??= TimeProvider.System;
        var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName($"O={name}, CN={name} root"), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.CrlSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        var now = time.GetUtcNow();
        var root = request.CreateSelfSigned(now - AllowedClockSkew, now + RootLifetime);
        return new CertificateAuthority(key, root, time);
    }

    /// <summary>A fresh key and a certificate for it naming <paramref name="id"/>.</summary>
    public IssuedCertificate Issue(SpiffeId id, TimeSpan? lifetime = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        using var certificate = WorkloadSigning.Sign(new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256),
            id, _root, _key, _time.GetUtcNow(), lifetime ?? WorkloadLifetime, AllowedClockSkew);
        return new IssuedCertificate(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// Signs a certificate naming <paramref name="id"/> for the key of a certificate signing request, whose signature
    /// was checked when it was loaded (Sentry's SignCertificate). Nothing of the request but its key is used.
    /// </summary>
    public X509Certificate2 Sign(CertificateRequest request, SpiffeId id, TimeSpan lifetime, TimeSpan? clockSkew = null)
        => WorkloadSigning.Sign(request, id, _root, _key, _time.GetUtcNow(), lifetime, clockSkew ?? AllowedClockSkew);

    /// <summary>The root and its key as PEM, to hand to the one process that signs for this authority (the Sentry).</summary>
    public (string RootPem, string KeyPem) ExportForSentry() => (TrustAnchorsPem, _key.ExportPkcs8PrivateKeyPem());

    /// <summary>The authority whose root and key <see cref="ExportForSentry"/> gave.</summary>
    public static CertificateAuthority FromPem(string rootPem, string keyPem, TimeProvider? time = null)
    {
        var key = ECDsa.Create();
        try
        {
            key.ImportFromPem(keyPem);
            var root = X509Certificate2.CreateFromPem(rootPem);
            using var rootKey = root.GetECDsaPublicKey();
            if (rootKey is null || !rootKey.ExportSubjectPublicKeyInfo().AsSpan().SequenceEqual(key.ExportSubjectPublicKeyInfo()))
                throw new IdentityException("the CA key does not belong to the CA certificate");
            return new CertificateAuthority(key, root, time ?? TimeProvider.System);
        }
        catch (CryptographicException e)
        {
            key.Dispose();
            throw new IdentityException($"the CA certificate and key do not load: {e.Message}", e);
        }
    }

    /// <summary>Writes only the trust anchors (public) as <c>ca.crt</c> under <paramref name="directory"/>; returns its path.</summary>
    public string WriteTrustAnchors(string directory)
    {
        var anchors = Path.Combine(directory, "ca.crt");
        lock (_files)
        {
            CreatePrivateDirectory(directory);
            if (!File.Exists(anchors)) WritePrivate(anchors, TrustAnchorsPem);
        }
        return anchors;
    }

    /// <summary>
    /// A fresh key and a certificate for a TLS endpoint that is not a Dapr workload (an etcd member or client): the
    /// <paramref name="commonName"/>, host names and addresses in its subject alternative names, good for server and
    /// client authentication (an etcd member is a server to clients and both ends to its peers).
    /// </summary>
    public IssuedCertificate IssueTls(string commonName, IEnumerable<string> dnsNames, IEnumerable<System.Net.IPAddress> addresses, TimeSpan? lifetime = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName("CN=" + commonName), key, HashAlgorithmName.SHA256);
        using var certificate = WorkloadSigning.SignLeaf(request, request =>
        {
            var names = new SubjectAlternativeNameBuilder();
            var any = false;
            foreach (var dns in dnsNames) { names.AddDnsName(dns); any = true; }
            foreach (var address in addresses) { names.AddIpAddress(address); any = true; }
            if (any) request.CertificateExtensions.Add(names.Build(critical: false));
        }, _root, _key, _time.GetUtcNow(), lifetime ?? WorkloadLifetime, AllowedClockSkew);
        return new IssuedCertificate(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>
    /// Writes the trust anchors and <paramref name="issued"/> as <c>ca.crt</c>, <c>&lt;name&gt;.crt</c> and
    /// <c>&lt;name&gt;.key</c> under <paramref name="directory"/> (created 0700), each file 0600 and new.
    /// </summary>
    public IdentityFiles WriteFiles(string directory, string name, IssuedCertificate issued)
    {
        var anchors = Path.Combine(directory, "ca.crt");
        lock (_files)
        {
            CreatePrivateDirectory(directory);
            if (!File.Exists(anchors)) WritePrivate(anchors, TrustAnchorsPem);
        }
        var files = new IdentityFiles(anchors, Path.Combine(directory, name + ".crt"), Path.Combine(directory, name + ".key"));
        WritePrivate(files.CertChainFile, issued.CertificatePem);
        WritePrivate(files.CertKeyFile, issued.KeyPem);
        return files;
    }

    public static void CreatePrivateDirectory(string directory)
    {
        if (OperatingSystem.IsWindows()) Directory.CreateDirectory(directory);
        else Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
    }

    private static void WritePrivate(string path, string content)
    {
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write };
        if (!OperatingSystem.IsWindows()) options.UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;
        using var writer = new StreamWriter(path, System.Text.Encoding.ASCII, options);
        writer.Write(content);
    }

    public void Dispose()
    {
        _root.Dispose();
        _key.Dispose();
    }
}
