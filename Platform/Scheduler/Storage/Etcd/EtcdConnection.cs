using Etcdserverpb;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Grpc.Net.Client;
using Grpc.Net.Client.Balancer;
using Grpc.Net.Client.Configuration;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>
/// One gRPC channel to every member of the cluster (round-robin over the members that answer, so one member down
/// costs nothing but its share of requests) and the KV client on it. With a username, requests carry the token
/// etcd's Authenticate hands out, fetched again when etcd says it expired. With TLS configured the members are
/// reached over https only, their certificates checked and this process's client certificate presented.
/// </summary>
internal sealed class EtcdConnection : IDisposable
{
    private readonly GrpcChannel _channel;
    private readonly TokenInterceptor? _tokens;

    /// <summary>A connection as the options say: endpoints, TLS, and credentials from flag, file or environment.</summary>
    public static EtcdConnection Create(EtcdStoreOptions options)
    {
        var endpoints = options.ParseEndpoints();
        var (username, password) = options.ResolveCredentials();
        return new EtcdConnection(endpoints, username, password, EtcdClientTls.Load(options, endpoints));
    }

    public EtcdConnection(IReadOnlyList<Uri> endpoints, string? username, string? password, EtcdClientTls? tls = null)
    {
        Tls = tls;
        var resolver = new StaticResolverFactory(_ => endpoints.Select(u => new BalancerAddress(u.Host, u.Port)).ToArray());
        var services = new ServiceCollection().AddSingleton<ResolverFactory>(resolver).BuildServiceProvider();
        _channel = GrpcChannel.ForAddress("static://etcd", new GrpcChannelOptions
        {
            Credentials = tls is null ? ChannelCredentials.Insecure : ChannelCredentials.SecureSsl,
            ServiceProvider = services,
            ServiceConfig = new ServiceConfig
            {
                LoadBalancingConfigs = { new RoundRobinConfig() },
                // Reads change nothing, so one that met a member as it went away is tried again on another member (etcd's
                // own client does the same for Range); otherwise one dead member would briefly show as a lost cluster.
                MethodConfigs =
                {
                    new MethodConfig
                    {
                        Names = { new MethodName { Service = KV.Descriptor.FullName, Method = "Range" } },
                        RetryPolicy = new Grpc.Net.Client.Configuration.RetryPolicy
                        {
                            MaxAttempts = 3,
                            InitialBackoff = TimeSpan.FromMilliseconds(50),
                            MaxBackoff = TimeSpan.FromMilliseconds(500),
                            BackoffMultiplier = 2,
                            RetryableStatusCodes = { StatusCode.Unavailable },
                        },
                    },
                },
            },
            HttpHandler = new SocketsHttpHandler
            {
                EnableMultipleHttp2Connections = true,
                // A member that dies without closing its connections is noticed within seconds, not minutes. Not more
                // often than etcd allows (--grpc-keepalive-min-time, 5 s), and only under a call: etcd answers pings
                // that break its policy with GOAWAY ENHANCE_YOUR_CALM, which cuts the watches on that connection.
                KeepAlivePingDelay = TimeSpan.FromSeconds(10),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                ConnectTimeout = TimeSpan.FromSeconds(2),
                SslOptions = tls?.ClientOptions() ?? new System.Net.Security.SslClientAuthenticationOptions(),
            },
            MaxReceiveMessageSize = 64 * 1024 * 1024,
        });
        CallInvoker invoker = _channel.CreateCallInvoker();
        if (!string.IsNullOrEmpty(username))
        {
            _tokens = new TokenInterceptor(new Auth.AuthClient(_channel), username, password ?? "");
            invoker = invoker.Intercept(_tokens);
        }
        Kv = new KV.KVClient(invoker);
        Maintenance = new Maintenance.MaintenanceClient(invoker);
        Lease = new Lease.LeaseClient(invoker);
        Watch = new Watch.WatchClient(invoker);
    }

    /// <summary>The TLS settings (whose certificate a renewal replaces), or null in plain text.</summary>
    public EtcdClientTls? Tls { get; }
    public KV.KVClient Kv { get; }
    public Maintenance.MaintenanceClient Maintenance { get; }
    /// <summary>Unary calls carry the auth token by themselves; streams (watch, lease keep-alive) take <see cref="StreamHeadersAsync"/>.</summary>
    public Lease.LeaseClient Lease { get; }
    public Watch.WatchClient Watch { get; }

    /// <summary>The headers a streaming call needs: etcd's auth token when the cluster has auth on, else none.</summary>
    public async Task<Metadata?> StreamHeadersAsync(CancellationToken cancellationToken) =>
        _tokens is null ? null : new Metadata { { "token", await _tokens.TokenAsync(null, cancellationToken) } };

    /// <summary>The channel itself, for clients this type does not make (tests set up etcd's auth through it).</summary>
    internal GrpcChannel Channel => _channel;

    public void Dispose() => _channel.Dispose();

    /// <summary>Adds etcd's "token" header; on "invalid auth token" it authenticates again and retries once.</summary>
    private sealed class TokenInterceptor(Auth.AuthClient auth, string username, string password) : Interceptor
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private string? _token;

        public async Task<string> TokenAsync(string? stale, CancellationToken cancellationToken)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (_token is null || _token == stale)
                {
                    var response = await auth.AuthenticateAsync(new AuthenticateRequest { Name = username, Password = password },
                        deadline: DateTime.UtcNow.AddSeconds(5), cancellationToken: cancellationToken);
                    _token = response.Token;
                }
                return _token;
            }
            finally
            {
                _gate.Release();
            }
        }

        public override AsyncUnaryCall<TResponse> AsyncUnaryCall<TRequest, TResponse>(TRequest request,
            ClientInterceptorContext<TRequest, TResponse> context, AsyncUnaryCallContinuation<TRequest, TResponse> continuation)
        {
            var response = CallAsync(request, context, continuation);
            return new AsyncUnaryCall<TResponse>(response, Task.FromResult(new Metadata()), () => Status.DefaultSuccess, () => [], () => { });
        }

        private async Task<TResponse> CallAsync<TRequest, TResponse>(TRequest request, ClientInterceptorContext<TRequest, TResponse> context,
            AsyncUnaryCallContinuation<TRequest, TResponse> continuation) where TRequest : class where TResponse : class
        {
            var token = await TokenAsync(null, context.Options.CancellationToken);
            try
            {
                return await continuation(request, WithToken(context, token)).ResponseAsync;
            }
            catch (RpcException e) when (e.Status.Detail.Contains("invalid auth token", StringComparison.Ordinal))
            {
                token = await TokenAsync(token, context.Options.CancellationToken);
                return await continuation(request, WithToken(context, token)).ResponseAsync;
            }
        }

        private static ClientInterceptorContext<TRequest, TResponse> WithToken<TRequest, TResponse>(
            ClientInterceptorContext<TRequest, TResponse> context, string token) where TRequest : class where TResponse : class
        {
            var headers = new Metadata();
            if (context.Options.Headers is { } existing) foreach (var h in existing) headers.Add(h);
            headers.Add("token", token);
            return new ClientInterceptorContext<TRequest, TResponse>(context.Method, context.Host, context.Options.WithHeaders(headers));
        }
    }
}
