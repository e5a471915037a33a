using System.Net.Security;
using System.Security.Authentication;
using System.Security.Cryptography.X509Certificates;
using Etcdserverpb;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.Security;

namespace Platform.Hosting.Dapr.EtcdImport;

/// <summary>
/// etcd's KV API on one member: in plain text (an old open member, on loopback, for the import's reads only) or over TLS
/// with a client certificate from etcd's CA, the member's certificate checked against that CA alone.
/// </summary>
internal sealed class EtcdKvChannel : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly X509Certificate2? _certificate;

    private EtcdKvChannel(GrpcChannel channel, X509Certificate2? certificate)
    {
        _channel = channel;
        _certificate = certificate;
        Kv = new KV.KVClient(channel);
    }

    public KV.KVClient Kv { get; }

    public static EtcdKvChannel Plain(int clientPort) =>
        new(GrpcChannel.ForAddress($"http://127.0.0.1:{clientPort}", new GrpcChannelOptions
        {
            Credentials = ChannelCredentials.Insecure,
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        }), null);

    public static EtcdKvChannel Locked(Uri endpoint, IdentityFiles client)
    {
        var certificate = X509Certificate2.CreateFromPemFile(client.CertChainFile, client.CertKeyFile);
        var anchors = new X509Certificate2Collection();
        anchors.ImportFromPemFile(client.TrustAnchorsFile);
        var handler = new SocketsHttpHandler
        {
            ConnectTimeout = TimeSpan.FromSeconds(5),
            SslOptions = new SslClientAuthenticationOptions
            {
                ClientCertificates = [certificate],
                EnabledSslProtocols = SslProtocols.Tls12 | SslProtocols.Tls13,
                RemoteCertificateValidationCallback = (_, presented, _, errors) => Verify(presented as X509Certificate2, errors, anchors),
            },
        };
        return new(GrpcChannel.ForAddress(endpoint, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = 64 * 1024 * 1024 }), certificate);
    }

    /// <summary>Chains to etcd's CA (and only it); the host name is whatever endpoint the members were given.</summary>
    private static bool Verify(X509Certificate2? presented, SslPolicyErrors errors, X509Certificate2Collection anchors)
    {
        if (presented is null || (errors & SslPolicyErrors.RemoteCertificateNotAvailable) != 0) return false;
        using var chain = new X509Chain();
        chain.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
        chain.ChainPolicy.CustomTrustStore.AddRange(anchors);
        chain.ChainPolicy.RevocationMode = X509RevocationMode.NoCheck;
        return chain.Build(presented) && (errors & SslPolicyErrors.RemoteCertificateNameMismatch) == 0;
    }

    public void Dispose()
    {
        _channel.Dispose();
        _certificate?.Dispose();
    }
}
