using Grpc.Net.Client;

namespace Platform.Sidecar.Scheduler;

// The folder's namespace would hide the protocol's Scheduler service class.
using Scheduler = Platform.SchedulerProtocol.Scheduler;

/// <summary>One scheduler replica in the current set: its channel, and whether a trigger stream to it is live.</summary>
public sealed class SchedulerHost : IDisposable
{
    private readonly CancellationTokenSource _leaving = new();
    private readonly GrpcChannel _channel;
    private volatile bool _connected;

    internal SchedulerHost(string address, GrpcChannel channel)
    {
        Address = address;
        _channel = channel;
        Client = new Scheduler.SchedulerClient(channel);
        Leaving = _leaving.Token;
    }

    public string Address { get; }
    public Scheduler.SchedulerClient Client { get; }
    /// <summary>Fires when the host leaves the set (or the sidecar stops): its streams end.</summary>
    public CancellationToken Leaving { get; }
    public bool Connected => _connected && !Leaving.IsCancellationRequested;

    internal void SetConnected(bool connected) => _connected = connected;

    /// <summary>
    /// Waits until the channel holds a connection. A call made while gRPC waits out its reconnect back-off fails at once
    /// ("Error connecting to subchannel"), so a stream opened only after this starts on the first attempt that connects.
    /// gRPC tries to connect only when asked (a failed attempt leaves the channel idle), so it is asked again every
    /// <see cref="ConnectPoll"/>. Throws <see cref="TimeoutException"/> when the host stays unreachable for <paramref name="bound"/>.
    /// </summary>
    internal async Task ConnectAsync(TimeSpan bound, CancellationToken ct)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        while (true)
        {
            using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
            attempt.CancelAfter(ConnectPoll);
            try
            {
                await _channel.ConnectAsync(attempt.Token);
                return;
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                if (System.Diagnostics.Stopwatch.GetElapsedTime(started) >= bound)
                    throw new TimeoutException($"not reachable for {bound.TotalSeconds:0} s");
            }
        }
    }

    /// <summary>How often a host that is down is asked to connect again.</summary>
    internal static readonly TimeSpan ConnectPoll = TimeSpan.FromMilliseconds(150);

    public void Dispose()
    {
        _leaving.Cancel();
        _channel.Dispose();
    }
}
