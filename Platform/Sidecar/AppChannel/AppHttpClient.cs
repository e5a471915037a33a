using System.Net;

namespace Platform.Sidecar.AppChannel;

/// <summary>The HTTP client the sidecar uses to reach its app and other sidecars: pooled, no redirects, no cookies.</summary>
public sealed class AppHttpClient : IDisposable
{
    public HttpClient Client { get; } = new(new SocketsHttpHandler
    {
        AllowAutoRedirect = false,
        UseCookies = false,
        AutomaticDecompression = DecompressionMethods.None,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        MaxConnectionsPerServer = 1024,
        ConnectTimeout = TimeSpan.FromSeconds(5),
    })
    { Timeout = Timeout.InfiniteTimeSpan };

    public void Dispose() => Client.Dispose();
}
