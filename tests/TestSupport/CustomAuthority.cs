using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Platform.Security;

namespace TestSupport;

/// <summary>
/// A certificate authority of the tests' own that issues what the product's never would: any URI names, any key
/// usages, any trust domain. A process started with its anchors trusts it as it trusts the run's, which is how the
/// identity tests present a certificate that chains correctly but names the wrong thing.
/// </summary>
public sealed class CustomAuthority : IDisposable
{
    private readonly ECDsa _key;
    private readonly X509Certificate2 _root;
    private readonly string _directory = Directory.CreateTempSubdirectory("custom-ca-").FullName;
    private int _counter;

    public CustomAuthority(string name)
    {
        _key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest($"CN={name} root", _key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(true, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.KeyCertSign | X509KeyUsageFlags.DigitalSignature, true));
        request.CertificateExtensions.Add(new X509SubjectKeyIdentifierExtension(request.PublicKey, false));
        _root = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-15), DateTimeOffset.UtcNow.AddDays(1));
    }

    public string TrustAnchorsPem => _root.ExportCertificatePem();

    /// <summary>A certificate naming <paramref name="uris"/> with <paramref name="purposes"/> (none: no EKU extension), as PEM.</summary>
    public IssuedCertificate IssuePem(IEnumerable<string> uris, params KeyPurpose[] purposes)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest(new X500DistinguishedName(""), key, HashAlgorithmName.SHA256);
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(false, false, 0, true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, true));
        if (purposes.Length > 0)
        {
            var oids = new OidCollection();
            foreach (var purpose in purposes) oids.Add(new Oid(purpose.Oid()));
            request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension(oids, false));
        }
        var names = new SubjectAlternativeNameBuilder();
        foreach (var uri in uris) names.AddUri(new Uri(uri));
        request.CertificateExtensions.Add(names.Build(critical: true));
        request.CertificateExtensions.Add(X509AuthorityKeyIdentifierExtension.CreateFromCertificate(_root, true, false));
        var serial = RandomNumberGenerator.GetBytes(16);
        serial[0] &= 0x7F;
        using var certificate = request.Create(_root.SubjectName, X509SignatureGenerator.CreateForECDsa(_key),
            DateTimeOffset.UtcNow.AddMinutes(-15), DateTimeOffset.UtcNow.AddHours(12), serial);
        return new IssuedCertificate(certificate.ExportCertificatePem(), key.ExportPkcs8PrivateKeyPem());
    }

    /// <summary>The same, loaded with its key, to present as a client.</summary>
    public X509Certificate2 Issue(IEnumerable<string> uris, params KeyPurpose[] purposes)
    {
        var issued = IssuePem(uris, purposes);
        using var loaded = X509Certificate2.CreateFromPem(issued.CertificatePem, issued.KeyPem);
        // Exported and re-imported so the key is usable for TLS on every platform.
        return X509CertificateLoader.LoadPkcs12(loaded.Export(X509ContentType.Pkcs12), null);
    }

    /// <summary>A process's identity from this authority (client and server usages), as files for the --…-file flags.</summary>
    public IdentityFiles Files(SpiffeId id)
    {
        var issued = IssuePem([id.ToString()], KeyPurpose.ServerAuth, KeyPurpose.ClientAuth);
        var name = $"{Interlocked.Increment(ref _counter)}-{id.AppId}";
        var files = new IdentityFiles(Path.Combine(_directory, name + "-ca.crt"), Path.Combine(_directory, name + ".crt"), Path.Combine(_directory, name + ".key"));
        File.WriteAllText(files.TrustAnchorsFile, TrustAnchorsPem);
        File.WriteAllText(files.CertChainFile, issued.CertificatePem);
        File.WriteAllText(files.CertKeyFile, issued.KeyPem);
        if (!OperatingSystem.IsWindows())
            foreach (var file in new[] { files.TrustAnchorsFile, files.CertChainFile, files.CertKeyFile })
                File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        return files;
    }

    /// <summary>An HTTP handler presenting <paramref name="certificate"/> that accepts any server (the server is not under test).</summary>
    public static SocketsHttpHandler ClientHandler(X509Certificate2 certificate) => new()
    {
        SslOptions =
        {
            ClientCertificates = [certificate],
            LocalCertificateSelectionCallback = (_, _, _, _, _) => certificate,
            RemoteCertificateValidationCallback = (_, _, _, _) => true,
        },
    };

    public void Dispose()
    {
        _root.Dispose();
        _key.Dispose();
        try { Directory.Delete(_directory, recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
