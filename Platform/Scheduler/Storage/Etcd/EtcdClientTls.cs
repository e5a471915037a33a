using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>
/// TLS to the etcd members: the members' certificates must chain to the CA given (<c>--etcd-client-ca-file</c>; the
/// system's roots when none is) and name the host dialled; this process presents its client certificate for etcd's
/// <c>--client-cert-auth</c>. The certificate is read through <see cref="Current"/> at each handshake, not captured
/// once, so a renewed certificate replaces it without a new channel: one from the Sentry follows its identity's
/// renewals (<c>--etcd-client-cert-from-sentry</c>); one from files stays as loaded. Connections already open keep the
/// certificate they were made with (etcd checks a client's certificate at the handshake only), so nothing in flight
/// notices a renewal.
/// </summary>
internal sealed class EtcdClientTls
{
    private readonly X509Certificate2Collection? _anchors;
    private readonly IReadOnlyList<string> _hosts;
    private readonly Platform.Security.WorkloadIdentity? _identity;
    private readonly X509Certificate2? _fromFiles;

    private EtcdClientTls(X509Certificate2Collection? anchors, X509Certificate2? fromFiles, IReadOnlyList<string> hosts,
        Platform.Security.WorkloadIdentity? identity = null)
    {
        _anchors = anchors;
        _fromFiles = fromFiles;
        _hosts = hosts;
        _identity = identity;
    }

    /// <summary>The client certificate presented at the next handshake (the Sentry's current one), or null when none is configured.</summary>
    public X509Certificate2? Current => _identity?.Certificate ?? _fromFiles;

    /// <summary>The TLS settings from the options; null when the members are reached in plain text. Throws naming a file that does not load.</summary>
    public static EtcdClientTls? Load(EtcdStoreOptions options, IReadOnlyList<Uri> endpoints)
    {
        if (!options.UseTls) return null;
        X509Certificate2Collection? anchors = null;
        if (!string.IsNullOrEmpty(options.ClientCaFile))
        {
            anchors = [];
            try { anchors.ImportFromPemFile(options.ClientCaFile); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                throw new InvalidOperationException($"--etcd-client-ca-file: cannot load {options.ClientCaFile}: {e.Message}", e);
            }
            if (anchors.Count == 0) throw new InvalidOperationException($"--etcd-client-ca-file: {options.ClientCaFile} holds no certificate.");
        }
        X509Certificate2? certificate = null;
        if (options.ClientCertFromSentry)
        {
            if (!string.IsNullOrEmpty(options.ClientCertFile) || !string.IsNullOrEmpty(options.ClientKeyFile))
                throw new InvalidOperationException("--etcd-client-cert-from-sentry takes no --etcd-client-cert-file or --etcd-client-key-file.");
            var identity = options.ClientIdentity
                ?? throw new InvalidOperationException("--etcd-client-cert-from-sentry needs --sentry-address and --etcd-client-ca-file (etcd's CA).");
            return new EtcdClientTls(anchors, null, [.. endpoints.Select(u => u.Host).Distinct(StringComparer.OrdinalIgnoreCase)], identity);
        }
        if (!string.IsNullOrEmpty(options.ClientCertFile))
        {
            if (string.IsNullOrEmpty(options.ClientKeyFile))
                throw new InvalidOperationException("--etcd-client-cert-file needs --etcd-client-key-file.");
            try { certificate = X509Certificate2.CreateFromPemFile(options.ClientCertFile, options.ClientKeyFile); }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or CryptographicException)
            {
                // The message never quotes the key.
                throw new InvalidOperationException($"--etcd-client-cert-file/--etcd-client-key-file: cannot load {options.ClientCertFile}: {e.Message}", e);
            }
        }
        return new EtcdClientTls(anchors, certificate, [.. endpoints.Select(u => u.Host).Distinct(StringComparer.OrdinalIgnoreCase)]);
    }

    public SslClientAuthenticationOptions ClientOptions() => new()
    {
        LocalCertificateSelectionCallback = (_, _, _, _, _) => Current!,
        RemoteCertificateValidationCallback = (_, certificate, _, errors) => Verify(certificate as X509Certificate2, errors),
        EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
    };

    /// <summary>
    /// The member's certificate chains to the anchors, is valid now and names one of the endpoints' hosts. The host is
    /// checked here against every endpoint because the channel balances over the members under one logical name.
    /// </summary>
    internal bool Verify(X509Certificate2? certificate, SslPolicyErrors errors)
    {
        if (certificate is null) return false;
        if (_anchors is null)
        {
            if ((errors & ~SslPolicyErrors.RemoteCertificateNameMismatch) != SslPolicyErrors.None) return false;
        }
        else
        {
            using var chain = new X509Chain();
            chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
            chain.ChainPolicy.CustomTrustStore.AddRange(_anchors);
            chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
            if (!chain.Build(certificate)) return false;
        }
        return _hosts.Any(h => certificate.MatchesHostname(h, allowWildcards: true, allowCommonName: false));
    }
}
