using Platform.Sidecar.AppChannel;
using Platform.Sidecar.Hosting;
using System.Diagnostics;
using System.Threading.Channels;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.SchedulerProtocol;

namespace Platform.Sidecar.Scheduler;

/// <summary>
/// Holds one WatchJobs stream per scheduler host of the current set (<see cref="SchedulerConnection.Joined"/>): announces
/// this sidecar's app id and namespace, delivers each trigger to the app concurrently, and answers it with
/// result{id, status}. A broken stream is reopened after ~0.5 s ± jitter; triggers in flight on it are redelivered by
/// the scheduler (it stages unanswered ones). A host that leaves the set has its stream closed for good.
/// With app health checks, streams are open only while the app is healthy (daprd closes them when it turns
/// unhealthy, so the scheduler stages triggers instead of failing them).
/// </summary>
public sealed partial class JobStreamWorker(
    SchedulerConnection scheduler,
    IAppChannel app,
    AppHealth health,
    IOptions<SidecarOptions> options,
    SidecarMetrics metrics,
    TimeProvider time,
    ILogger<JobStreamWorker> logger) : BackgroundService
{
    private readonly SidecarOptions _options = options.Value;

    /// <summary>How long a stream waits for an unreachable scheduler before it reports so and tries again.</summary>
    private static readonly TimeSpan UnreachableReport = TimeSpan.FromSeconds(30);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var streams = new List<Task>();
        try
        {
            await foreach (var host in scheduler.Joined.ReadAllAsync(stoppingToken))
            {
                streams.RemoveAll(t => t.IsCompleted);
                streams.Add(WatchHostAsync(host, stoppingToken));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested) { }
        await Task.WhenAll(streams);
    }

    private async Task WatchHostAsync(SchedulerHost host, CancellationToken stopping)
    {
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(stopping, host.Leaving);
        var ct = lifetime.Token;
        var address = host.Address;
        while (!ct.IsCancellationRequested)
        {
            CancellationToken healthyPeriod;
            try
            {
                healthyPeriod = await health.WhenHealthyAsync(ct);
            }
            catch (OperationCanceledException) { break; }
            try
            {
                await RunStreamAsync(host, healthyPeriod, ct, stopping);
            }
            // Stopping, or the host left the set (its channel is disposed under the stream).
            catch (Exception) when (ct.IsCancellationRequested) { break; }
            catch (Exception) when (healthyPeriod.IsCancellationRequested)
            {
                LogClosedUnhealthy(logger, address);
                continue;
            }
            catch (Exception ex)
            {
                LogStreamBroken(logger, address, ex.Message);
            }
            finally
            {
                host.SetConnected(false);
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250 + Random.Shared.Next(500)), time, ct);
            }
            catch (OperationCanceledException) { break; }
        }
        if (host.Leaving.IsCancellationRequested && !stopping.IsCancellationRequested) LogLeft(logger, address);
    }

    private async Task RunStreamAsync(SchedulerHost host, CancellationToken healthyPeriod, CancellationToken ct, CancellationToken stopping)
    {
        var address = host.Address;
        using var streamCts = CancellationTokenSource.CreateLinkedTokenSource(ct, healthyPeriod);
        await host.ConnectAsync(UnreachableReport, streamCts.Token);
        using var call = host.Client.WatchJobs(cancellationToken: streamCts.Token);
        await call.RequestStream.WriteAsync(new WatchJobsRequest
        {
            Initial = new WatchJobsRequestInitial
            {
                AppId = _options.AppId,
                Namespace = _options.Namespace,
                AcceptJobTypes = { JobTargetType.Job },
            },
        }, streamCts.Token);
        host.SetConnected(true);
        LogConnected(logger, address);

        // Results go through one writer: a gRPC request stream takes one write at a time.
        var results = Channel.CreateUnbounded<WatchJobsRequest>(new UnboundedChannelOptions { SingleReader = true });
        var writer = Task.Run(async () =>
        {
            await foreach (var result in results.Reader.ReadAllAsync(streamCts.Token))
                await call.RequestStream.WriteAsync(result, streamCts.Token);
        }, CancellationToken.None);

        try
        {
            await foreach (var trigger in call.ResponseStream.ReadAllAsync(streamCts.Token))
            {
                _ = Task.Run(async () =>
                {
                    // Not tied to this stream: an app call under way is let finish even if the stream breaks
                    // (its result is then lost and the scheduler redelivers, as it does for daprd), also when the host
                    // left the set.
                    var ok = await DeliverAsync(trigger, stopping);
                    results.Writer.TryWrite(new WatchJobsRequest
                    {
                        Result = new WatchJobsRequestResult
                        {
                            Id = trigger.Id,
                            Status = ok ? WatchJobsRequestResultStatus.Success : WatchJobsRequestResultStatus.Failed,
                        },
                    });
                }, CancellationToken.None);
            }
        }
        finally
        {
            results.Writer.TryComplete();
            await streamCts.CancelAsync();
            try { await writer; } catch (Exception) { /* the stream is gone; unanswered triggers are redelivered */ }
        }
        // The scheduler ended the stream (e.g. shutting down): reconnect.
        LogStreamEnded(logger, address);
    }

    private async Task<bool> DeliverAsync(WatchJobsResponse trigger, CancellationToken ct)
    {
        var parent = default(ActivityContext);
        if (trigger.TraceContext.TryGetValue("traceparent", out var traceparent))
        {
            trigger.TraceContext.TryGetValue("tracestate", out var tracestate);
            ActivityContext.TryParse(traceparent, tracestate, out parent);
        }
        using var activity = SidecarTelemetry.ActivitySource.StartActivity("job trigger " + trigger.Name, ActivityKind.Consumer, parent);
        activity?.SetTag("dapr.job.name", trigger.Name);
        activity?.SetTag("dapr.app.id", _options.AppId);
        var started = time.GetTimestamp();
        bool ok;
        try
        {
            // A trigger that arrived just as the app turned unhealthy (before its stream closed) fails, as in daprd.
            if (!health.IsHealthy)
            {
                LogAppUnhealthy(logger, trigger.Name);
                ok = false;
            }
            else ok = await app.DeliverJobAsync(new JobTrigger(trigger.Name, trigger.Data, trigger.ScheduledTime?.ToDateTimeOffset()), ct);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            LogDeliveryError(logger, trigger.Name, ex.Message);
            ok = false;
        }
        activity?.SetStatus(ok ? ActivityStatusCode.Ok : ActivityStatusCode.Error);
        metrics.TriggerDelivered(ok, time.GetElapsedTime(started).TotalMilliseconds);
        if (trigger.ScheduledTime is { } scheduled)
            metrics.TriggerLateness((time.GetUtcNow() - scheduled.ToDateTimeOffset()).TotalMilliseconds);
        LogDelivered(logger, trigger.Name, trigger.Id, ok);
        return ok;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected job stream to scheduler {Address}")]
    private static partial void LogConnected(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Job stream to scheduler {Address} broke: {Error}; reconnecting")]
    private static partial void LogStreamBroken(ILogger logger, string address, string error);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job stream to scheduler {Address} closed: the host left the scheduler set")]
    private static partial void LogLeft(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job stream to scheduler {Address} ended; reconnecting")]
    private static partial void LogStreamEnded(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Information, Message = "Job stream to scheduler {Address} closed: app is not healthy")]
    private static partial void LogClosedUnhealthy(ILogger logger, string address);

    [LoggerMessage(Level = LogLevel.Warning, Message = "app is not in a healthy state (job {JobName})")]
    private static partial void LogAppUnhealthy(ILogger logger, string jobName);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Delivered job {JobName} (trigger {TriggerId}): success={Success}")]
    private static partial void LogDelivered(ILogger logger, string jobName, ulong triggerId, bool success);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Delivering job {JobName} failed: {Error}")]
    private static partial void LogDeliveryError(ILogger logger, string jobName, string error);
}
