using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.SchedulerProtocol;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>
/// Plays daprd's part of WatchJobs against the real scheduler: sends <c>initial</c>, records every trigger and
/// answers it with the result <see cref="Decide"/> gives (per job name, attempt number from 1; null = never answer).
/// </summary>
internal sealed class FakeSidecar : IAsyncDisposable
{
    private readonly AsyncDuplexStreamingCall<WatchJobsRequest, WatchJobsResponse> _call;
    private readonly CancellationTokenSource _cts = new();
    private readonly SemaphoreSlim _sendGate = new(1, 1);
    private readonly Dictionary<string, int> _deliveries = [];
    private readonly Task _reader;

    private FakeSidecar(AsyncDuplexStreamingCall<WatchJobsRequest, WatchJobsResponse> call, Func<WatchJobsResponse, int, bool?> decide)
    {
        _call = call;
        Decide = decide;
        _reader = Task.Run(ReadAsync);
    }

    public Func<WatchJobsResponse, int, bool?> Decide { get; }
    /// <summary>Every trigger received, in order.</summary>
    public Channel<(WatchJobsResponse Trigger, bool Success, DateTimeOffset At)> Received { get; } =
        Channel.CreateUnbounded<(WatchJobsResponse, bool, DateTimeOffset)>();
    /// <summary>Completes when the stream ends (server gone or closed).</summary>
    public Task Ended => _reader;

    public static async Task<FakeSidecar> ConnectAsync(GrpcChannel channel, string appId, Func<WatchJobsResponse, int, bool?>? decide = null,
        string @namespace = "default")
    {
        var client = new SchedulerProtocol.Scheduler.SchedulerClient(channel);
        var call = client.WatchJobs();
        await call.RequestStream.WriteAsync(new WatchJobsRequest
        {
            Initial = new WatchJobsRequestInitial { AppId = appId, Namespace = @namespace, AcceptJobTypes = { JobTargetType.Job } },
        });
        return new FakeSidecar(call, decide ?? ((_, _) => (bool?)true));
    }

    private async Task ReadAsync()
    {
        try
        {
            await foreach (var trigger in _call.ResponseStream.ReadAllAsync(_cts.Token))
            {
                int n;
                lock (_deliveries) n = _deliveries[trigger.Name] = _deliveries.GetValueOrDefault(trigger.Name) + 1;
                var at = DateTimeOffset.UtcNow;
                var success = Decide(trigger, n);
                if (success is { } answer) await SendResultAsync(trigger.Id, answer);
                Received.Writer.TryWrite((trigger, success ?? false, at));
            }
        }
        catch (RpcException) { }
        catch (OperationCanceledException) { }
        catch (IOException) { }
        finally
        {
            Received.Writer.TryComplete();
        }
    }

    public async Task SendResultAsync(ulong id, bool success)
    {
        await _sendGate.WaitAsync();
        try
        {
            await _call.RequestStream.WriteAsync(new WatchJobsRequest
            {
                Result = new WatchJobsRequestResult
                {
                    Id = id,
                    Status = success ? WatchJobsRequestResultStatus.Success : WatchJobsRequestResultStatus.Failed,
                },
            });
        }
        catch (RpcException) { }
        catch (InvalidOperationException) { }
        finally { _sendGate.Release(); }
    }

    /// <summary>The next trigger, or a TimeoutException.</summary>
    public async Task<(WatchJobsResponse Trigger, bool Success, DateTimeOffset At)> NextAsync(double seconds = 10) =>
        await Received.Reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(seconds));

    public int DeliveriesOf(string name)
    {
        lock (_deliveries) return _deliveries.GetValueOrDefault(name);
    }

    public async ValueTask DisposeAsync()
    {
        _cts.Cancel();
        _call.Dispose();
        try { await _reader; } catch (Exception) { }
    }
}
