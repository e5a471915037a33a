using System.Collections.Concurrent;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Security;
using Platform.SchedulerProtocol;

namespace Platform.Sidecar;

/// <summary>
/// The gRPC channels to every configured scheduler host. Unary calls rotate round-robin over the hosts, wait for a
/// connection (WaitForReady) under a 30 s deadline, and move to the next host when one answers Cancelled (it is
/// shutting down), as daprd's scheduler client wrapper does. Hosts come from --scheduler-host-address only
/// (the WatchHosts discovery of daprd is not used).
/// </summary>
public sealed class SchedulerConnection : IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);
    private readonly (string Address, GrpcChannel Channel, Scheduler.SchedulerClient Client)[] _hosts;
    private readonly ConcurrentDictionary<string, bool> _connected = new();
    private int _next;

    public SchedulerConnection(IOptions<SidecarOptions> options, SidecarSecurity security)
    {
        _hosts = [.. options.Value.SchedulerHosts.Select(address =>
        {
            var channel = GrpcChannel.ForAddress(security.SchedulerUri(address), new GrpcChannelOptions
            {
                HttpHandler = new SocketsHttpHandler
                {
                    SslOptions = security.Identity?.ClientOptions(security.IsScheduler) ?? new(),
                    EnableMultipleHttp2Connections = true,
                    KeepAlivePingDelay = TimeSpan.FromSeconds(3),
                    KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
                    KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                    ConnectTimeout = TimeSpan.FromSeconds(5),
                },
                MaxReceiveMessageSize = null,
                MaxSendMessageSize = null,
            });
            return (address, channel, new Scheduler.SchedulerClient(channel));
        })];
    }

    public bool Enabled => _hosts.Length > 0;

    public IEnumerable<(string Address, Scheduler.SchedulerClient Client)> Hosts => _hosts.Select(h => (h.Address, h.Client));

    /// <summary>Addresses with a live trigger stream, for the metadata API.</summary>
    public IReadOnlyList<string> ConnectedAddresses =>
        [.. _hosts.Select(h => h.Address).Where(a => _connected.TryGetValue(a, out var c) && c)];

    internal void SetConnected(string address, bool connected) => _connected[address] = connected;

    public async Task<T> CallAsync<T>(Func<Scheduler.SchedulerClient, CallOptions, Task<T>> call, CancellationToken ct)
    {
        if (_hosts.Length == 0) throw new InvalidOperationException("scheduler clients are disabled");
        for (var attempt = 0; ; attempt++)
        {
            // Prefer replicas with a live trigger stream: a configured replica that is down would otherwise hold
            // every call routed to it for the whole WaitForReady deadline.
            var live = _hosts.Where(h => _connected.TryGetValue(h.Address, out var c) && c).ToArray();
            var candidates = live.Length > 0 ? live : _hosts;
            var host = candidates[(int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Length)];
            var options = new CallOptions(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: ct).WithWaitForReady();
            try
            {
                return await call(host.Client, options);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Cancelled && !ct.IsCancellationRequested && attempt < 10)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(125 + Random.Shared.Next(250)), ct);
            }
        }
    }

    public void Dispose()
    {
        foreach (var h in _hosts) h.Channel.Dispose();
    }
}
