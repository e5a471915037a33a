using System.Security.Cryptography.X509Certificates;
using System.Text;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.SentryProtocol.V1;

namespace Platform.Security.Renewal;

/// <summary>
/// daprd's side of the Sentry API: <c>dapr.proto.sentry.v1.CA/SignCertificate</c> over TLS to <c>--sentry-address</c>,
/// trusting only a server whose certificate chains to the trust anchors and names the Sentry's SPIFFE id, with this
/// process's bootstrap token in the request.
/// </summary>
public sealed class SentryClient : ICertificateSigner, IDisposable
{
    /// <summary>The Sentry's app id in its own identity (Dapr's control plane name).</summary>
    public const string SentryAppId = "dapr-sentry";

    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(10);
    private readonly GrpcChannel _channel;
    private readonly CA.CAClient _client;
    private readonly string _token;

    public SentryClient(string address, TrustBundle trust, SpiffeId sentryId, string token)
    {
        _token = token;
        var uri = address.Contains("://", StringComparison.Ordinal) ? address : "https://" + address;
        _channel = GrpcChannel.ForAddress(uri, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                ConnectTimeout = TimeSpan.FromSeconds(5),
                // A renewal is rare: each one makes a new connection, so it meets the Sentry's current certificate.
                PooledConnectionLifetime = TimeSpan.FromSeconds(1),
                SslOptions = new System.Net.Security.SslClientAuthenticationOptions
                {
                    RemoteCertificateValidationCallback = (_, certificate, _, _) =>
                        certificate is X509Certificate2 presented && trust.Verify(presented, out _) == sentryId,
                },
            },
            MaxReceiveMessageSize = 256 * 1024,
        });
        _client = new CA.CAClient(_channel);
    }

    /// <summary>The Sentry of a control plane (<c>spiffe://&lt;trust domain&gt;/ns/&lt;namespace&gt;/dapr-sentry</c>).</summary>
    public static SpiffeId SentryId(string trustDomain, string @namespace) => new(trustDomain, @namespace, SentryAppId);

    public async Task<X509Certificate2> SignAsync(SpiffeId id, string csrPem, CancellationToken cancellationToken)
    {
        var response = await _client.SignCertificateAsync(new SignCertificateRequest
        {
            Id = id.AppId,
            Namespace = id.Namespace,
            TrustDomain = id.TrustDomain,
            Token = _token,
            CertificateSigningRequest = Google.Protobuf.ByteString.CopyFromUtf8(csrPem),
        }, deadline: DateTime.UtcNow + CallTimeout, cancellationToken: cancellationToken);
        var chain = new X509Certificate2Collection();
        try
        {
            chain.ImportFromPem(Encoding.ASCII.GetString(response.WorkloadCertificate.Span));
        }
        catch (System.Security.Cryptography.CryptographicException e)
        {
            throw new RpcException(new Status(StatusCode.Internal, $"the Sentry answered with no PEM certificate: {e.Message}"));
        }
        if (chain.Count == 0) throw new RpcException(new Status(StatusCode.Internal, "the Sentry answered with no certificate"));
        for (var i = 1; i < chain.Count; i++) chain[i].Dispose();
        return chain[0];
    }

    public void Dispose() => _channel.Dispose();
}
