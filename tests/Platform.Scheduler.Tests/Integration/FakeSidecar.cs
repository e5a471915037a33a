using System.Threading.Channels;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using TestSupport;

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

    /// <summary>Names of the jobs <see cref="BarrierAsync"/> schedules; their triggers are always answered with success.</summary>
    private const string BarrierPrefix = "barrier-";

    private FakeSidecar(AsyncDuplexStreamingCall<WatchJobsRequest, WatchJobsResponse> call, Func<WatchJobsResponse, int, bool?> decide,
        string appId, string @namespace)
    {
        _call = call;
        Decide = decide;
        AppId = appId;
        Namespace = @namespace;
        _reader = Task.Run(ReadAsync);
    }

    public string AppId { get; }
    public string Namespace { get; }

    public Func<WatchJobsResponse, int, bool?> Decide { get; }
    /// <summary>Every trigger received, in order.</summary>
    public Channel<(WatchJobsResponse Trigger, bool Success, DateTimeOffset At)> Received { get; } =
        Channel.CreateUnbounded<(WatchJobsResponse, bool, DateTimeOffset)>();
    /// <summary>Completes when the stream ends (server gone or closed).</summary>
    public Task Ended => _reader;

    /// <summary>Opens the app's trigger stream with the app's own identity.</summary>
    public static Task<FakeSidecar> ConnectAsync(SchedulerUnderTest scheduler, string appId, Func<WatchJobsResponse, int, bool?>? decide = null,
        string @namespace = "default") => ConnectAsync(scheduler.ChannelFor(appId, @namespace), appId, decide, @namespace);

    public static async Task<FakeSidecar> ConnectAsync(GrpcChannel channel, string appId, Func<WatchJobsResponse, int, bool?>? decide = null,
        string @namespace = "default")
    {
        var client = new SchedulerProtocol.Scheduler.SchedulerClient(channel);
        var call = client.WatchJobs();
        await call.RequestStream.WriteAsync(new WatchJobsRequest
        {
            Initial = new WatchJobsRequestInitial { AppId = appId, Namespace = @namespace, AcceptJobTypes = { JobTargetType.Job } },
        });
        return new FakeSidecar(call, decide ?? ((_, _) => (bool?)true), appId, @namespace);
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
                // A barrier must not be retried (it would outlive the test as a stored job), whatever the test decides.
                var success = trigger.Name.StartsWith(BarrierPrefix, StringComparison.Ordinal) ? true : Decide(trigger, n);
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

    /// <summary>
    /// Proves that nothing the scheduler has dispatched to this sidecar is still on its way, without a quiet period:
    /// schedules a one-shot barrier job for this sidecar's app, due now, and reads until its trigger arrives. The
    /// scheduler writes an app's triggers to the stream in dispatch order and gRPC keeps that order, so every trigger
    /// dispatched before the barrier has been received by then. Returns those received meanwhile (not the barrier).
    /// Meaningful only while this is the app's one stream (otherwise round-robin may send the barrier elsewhere) and
    /// for jobs that can no longer fire (see <see cref="SchedulerUnderTest.WaitForNoJobsAsync"/>).
    /// </summary>
    public async Task<IReadOnlyList<WatchJobsResponse>> BarrierAsync(SchedulerUnderTest scheduler, double seconds = 15)
    {
        var name = BarrierPrefix + Guid.NewGuid().ToString("N");
        // Due at this exact instant rather than "0s", which the scheduler truncates to the second: so the barrier
        // comes after, not level with, every trigger already due, and the dispatch loop sends those first.
        var due = DateTime.UtcNow.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'Z'", System.Globalization.CultureInfo.InvariantCulture);
        await scheduler.ScheduleAsync(name, due: due, app: AppId, ns: Namespace);
        var before = new List<WatchJobsResponse>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        while (true)
        {
            WatchJobsResponse trigger;
            try { trigger = (await Received.Reader.ReadAsync(timeout.Token)).Trigger; }
            catch (OperationCanceledException) { throw new TimeoutException($"barrier {name} did not arrive within {seconds} s"); }
            if (trigger.Name == name) break;
            before.Add(trigger);
        }
        // The barrier's success travels back on the stream; until the scheduler has deleted the barrier job, closing this
        // sidecar could leave the job behind to be redelivered into a later check.
        await Poll.UntilAsync(async () =>
            (await scheduler.ClientFor(AppId, Namespace).ListJobsAsync(new ListJobsRequest { Metadata = SchedulerUnderTest.Meta(AppId, Namespace) })).Jobs.All(j => j.Name != name),
            TimeSpan.FromSeconds(seconds), $"barrier {name} deleted");
        return before;
    }

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
