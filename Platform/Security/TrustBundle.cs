using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace Platform.Security;

/// <summary>The trust anchors of a Dapr installation: the root certificates every peer's certificate must chain to.</summary>
public sealed class TrustBundle
{
    private readonly X509Certificate2Collection _anchors;
    private readonly TimeProvider _time;

    private TrustBundle(X509Certificate2Collection anchors, TimeProvider time)
    {
        _anchors = anchors;
        _time = time;
    }

    public static TrustBundle FromPem(string pem, TimeProvider? time = null)
    {
        var anchors = new X509Certificate2Collection();
        try
        {
            anchors.ImportFromPem(pem);
        }
        catch (CryptographicException e)
        {
            throw new IdentityException($"trust anchors are not PEM certificates: {e.Message}", e);
        }
        if (anchors.Count == 0) throw new IdentityException("trust anchors hold no certificate");
        return new TrustBundle(anchors, time ?? TimeProvider.System);
    }

    /// <summary>
    /// <see cref="Verify(X509Certificate2?, out string?)"/>, and the certificate must carry the extended key usage of
    /// the role the peer plays (client-auth for a client, server-auth for a server).
    /// </summary>
    public SpiffeId? Verify(X509Certificate2? certificate, KeyPurpose purpose, out string? error)
    {
        var id = Verify(certificate, out error);
        if (id is null || certificate!.Allows(purpose)) return id;
        error = $"certificate lacks the {(purpose == KeyPurpose.ClientAuth ? "client" : "server")} authentication key usage";
        return null;
    }

    /// <summary>
    /// Verifies that the peer's certificate chains to one of the anchors, is valid now, and names a Dapr SPIFFE id;
    /// on success returns that id. Host names play no part: a peer is who its SPIFFE id says, as in Dapr.
    /// </summary>
    public SpiffeId? Verify(X509Certificate2? certificate, out string? error)
    {
        if (certificate is null)
        {
            error = "no client certificate";
            return null;
        }
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(_anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        chain.ChainPolicy.VerificationTime = _time.GetUtcNow().UtcDateTime;
        chain.ChainPolicy.VerificationTimeIgnored = false;
        if (!chain.Build(certificate))
        {
            error = "certificate is not signed by the trust anchors or is not valid now: "
                + string.Join("; ", chain.ChainStatus.Select(s => s.StatusInformation.Trim()));
            return null;
        }
        var id = SpiffeId.FromCertificate(certificate);
        error = id is null ? "certificate names no SPIFFE id of the form spiffe://<trust-domain>/ns/<namespace>/<app-id>" : null;
        return id;
    }
}
