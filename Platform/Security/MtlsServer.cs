using Microsoft.AspNetCore.Connections.Features;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Https;

namespace Platform.Security;

/// <summary>The server side of Dapr's mTLS on a Kestrel listener, and the caller's identity on each request.</summary>
public static class MtlsServer
{
    private static readonly object PeerKey = new();

    /// <summary>
    /// TLS with this identity's certificate; a client must present a certificate that chains to the trust anchors and
    /// names a SPIFFE id (Dapr's MTLSServerCredentials with AuthorizeAny) with the client-auth key usage; anything
    /// else fails the handshake.
    /// </summary>
    public static ListenOptions UseMtls(this ListenOptions listen, WorkloadIdentity identity) =>
        listen.UseHttps(new HttpsConnectionAdapterOptions
        {
            // Read at each handshake: renewal swaps the certificate without touching open connections.
            ServerCertificateSelector = (_, _) => identity.Certificate,
            ClientCertificateMode = ClientCertificateMode.RequireCertificate,
            ClientCertificateValidation = (certificate, _, _) => identity.Trust.Verify(certificate, KeyPurpose.ClientAuth, out _) is not null,
            SslProtocols = System.Security.Authentication.SslProtocols.Tls12 | System.Security.Authentication.SslProtocols.Tls13,
        });

    /// <summary>The SPIFFE id of the connection's client certificate (checked at the handshake); null without one.</summary>
    public static SpiffeId? PeerId(this HttpContext context)
    {
        var items = context.Features.Get<IConnectionItemsFeature>()?.Items;
        if (items is not null && items.TryGetValue(PeerKey, out var cached)) return (SpiffeId?)cached;
        var certificate = context.Connection.ClientCertificate;
        var id = certificate is null ? null : SpiffeId.FromCertificate(certificate);
        if (items is not null) items[PeerKey] = id;
        return id;
    }
}
