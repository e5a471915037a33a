using Platform.Sidecar.Hosting;
using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Security;

namespace Platform.Sidecar.Scheduler;

// The folder's namespace would hide the protocol's Scheduler service class.
using Scheduler = Platform.SchedulerProtocol.Scheduler;

/// <summary>
/// The gRPC channels to the current set of scheduler replicas. The set starts as --scheduler-host-address and is then
/// replaced by what the replicas announce over WatchHosts (<see cref="SchedulerDiscovery"/>), as daprd does. Unary calls
/// rotate round-robin over the set, wait for a connection (WaitForReady) under a 30 s deadline, and move to the next
/// host when one answers Cancelled (it is shutting down, or it just left the set), as daprd's scheduler client wrapper does.
/// </summary>
public sealed partial class SchedulerConnection : IDisposable
{
    private static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(30);
    private readonly SidecarSecurity _security;
    private readonly ILogger<SchedulerConnection> _logger;
    private readonly Lock _gate = new();
    private readonly Channel<SchedulerHost> _joined = Channel.CreateUnbounded<SchedulerHost>(new UnboundedChannelOptions { SingleReader = true });
    private SchedulerHost[] _hosts;
    private bool _settled;
    private bool _disposed;
    private int _next;

    public SchedulerConnection(IOptions<SidecarOptions> options, SidecarSecurity security, ILogger<SchedulerConnection> logger)
    {
        _security = security;
        _logger = logger;
        ConfiguredAddresses = [.. options.Value.SchedulerHosts.Distinct(StringComparer.Ordinal)];
        _hosts = [.. ConfiguredAddresses.Select(a => new SchedulerHost(a, CreateChannel(a)))];
    }

    /// <summary>--scheduler-host-address: where WatchHosts is asked, and the set until a replica answers it.</summary>
    public IReadOnlyList<string> ConfiguredAddresses { get; }

    public bool Enabled => ConfiguredAddresses.Count > 0;

    /// <summary>The current set of replicas.</summary>
    public IReadOnlyList<SchedulerHost> Hosts => Volatile.Read(ref _hosts);

    /// <summary>
    /// Each host that should get a job stream, once: the whole set when it is first settled, then every host that
    /// joins. A host's <see cref="SchedulerHost.Leaving"/> fires when it leaves the set.
    /// </summary>
    public ChannelReader<SchedulerHost> Joined => _joined.Reader;

    /// <summary>Addresses with a live trigger stream, for the metadata API.</summary>
    public IReadOnlyList<string> ConnectedAddresses => [.. Hosts.Where(h => h.Connected).Select(h => h.Address)];

    /// <summary>A channel to <paramref name="address"/>, dialled as every scheduler is (mTLS checks the scheduler's SPIFFE id).</summary>
    public GrpcChannel CreateChannel(string address) =>
        GrpcChannel.ForAddress(_security.SchedulerUri(address), new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler
            {
                SslOptions = _security.Identity?.ClientOptions(_security.IsScheduler) ?? new(),
                EnableMultipleHttp2Connections = true,
                KeepAlivePingDelay = TimeSpan.FromSeconds(3),
                KeepAlivePingTimeout = TimeSpan.FromSeconds(5),
                KeepAlivePingPolicy = HttpKeepAlivePingPolicy.WithActiveRequests,
                ConnectTimeout = TimeSpan.FromSeconds(5),
            },
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
            // gRPC's defaults (1 s growing to 120 s) left a restarted scheduler unconnected for seconds after it
            // listened again; a refused connect to a scheduler that is down costs next to nothing.
            InitialReconnectBackoff = ReconnectBackoff,
            MaxReconnectBackoff = ReconnectBackoff,
        });

    /// <summary>Time between connection attempts to a scheduler that is down; bounds how late a restarted one is seen.</summary>
    internal static readonly TimeSpan ReconnectBackoff = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Makes <paramref name="addresses"/> the set: hosts that left it have their streams closed and channels disposed
    /// (triggers in flight on them are redelivered by the scheduler), hosts that joined get a stream. The same set
    /// again changes nothing. Returns whether the set changed.
    /// </summary>
    public bool Apply(IEnumerable<string> addresses, string source)
    {
        var wanted = addresses.Distinct(StringComparer.Ordinal).ToArray();
        SchedulerHost[] left;
        SchedulerHost[] joined;
        lock (_gate)
        {
            if (_disposed) return false;
            var current = _hosts;
            var firstSettle = !_settled;
            _settled = true;
            if (current.Length == wanted.Length && current.All(h => wanted.Contains(h.Address, StringComparer.Ordinal)))
            {
                if (firstSettle) foreach (var h in current) _joined.Writer.TryWrite(h);
                LogHostsUnchanged(_logger, source, string.Join(",", wanted));
                return false;
            }
            var byAddress = current.ToDictionary(h => h.Address, StringComparer.Ordinal);
            joined = [.. wanted.Where(a => !byAddress.ContainsKey(a)).Select(a => new SchedulerHost(a, CreateChannel(a)))];
            left = [.. current.Where(h => !wanted.Contains(h.Address, StringComparer.Ordinal))];
            var next = wanted.Select(a => byAddress.TryGetValue(a, out var kept) ? kept : joined.First(j => j.Address == a)).ToArray();
            Volatile.Write(ref _hosts, next);
            foreach (var h in firstSettle ? next : joined) _joined.Writer.TryWrite(h);
        }
        LogHostsChanged(_logger, source, string.Join(",", wanted), string.Join(",", joined.Select(h => h.Address)),
            string.Join(",", left.Select(h => h.Address)));
        foreach (var h in left) h.Dispose();
        return true;
    }

    public async Task<T> CallAsync<T>(Func<Scheduler.SchedulerClient, CallOptions, Task<T>> call, CancellationToken ct)
    {
        if (!Enabled) throw new InvalidOperationException("scheduler clients are disabled");
        for (var attempt = 0; ; attempt++)
        {
            var hosts = Hosts;
            // Prefer replicas with a live trigger stream: a replica that is down would otherwise hold every call
            // routed to it for the whole WaitForReady deadline.
            var live = hosts.Where(h => h.Connected).ToArray();
            var candidates = live.Length > 0 ? live : hosts;
            var host = candidates[(int)((uint)Interlocked.Increment(ref _next) % (uint)candidates.Count)];
            var options = new CallOptions(deadline: DateTime.UtcNow + CallTimeout, cancellationToken: ct).WithWaitForReady();
            try
            {
                return await call(host.Client, options);
            }
            catch (Exception ex) when (ex is RpcException { StatusCode: StatusCode.Cancelled } or ObjectDisposedException
                && !ct.IsCancellationRequested && attempt < 10)
            {
                // Cancelled: the replica is stopping, or it left the set and its channel was disposed under the call.
                await Task.Delay(TimeSpan.FromMilliseconds(125 + Random.Shared.Next(250)), ct);
            }
        }
    }

    public void Dispose()
    {
        SchedulerHost[] hosts;
        lock (_gate)
        {
            _disposed = true;
            hosts = _hosts;
            _joined.Writer.TryComplete();
        }
        foreach (var h in hosts) h.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information,
        Message = "Scheduler hosts changed (from {Source}): now [{Hosts}], joined [{Joined}], left [{Left}]")]
    private static partial void LogHostsChanged(ILogger logger, string source, string hosts, string joined, string left);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Scheduler hosts unchanged (from {Source}): [{Hosts}]")]
    private static partial void LogHostsUnchanged(ILogger logger, string source, string hosts);
}
