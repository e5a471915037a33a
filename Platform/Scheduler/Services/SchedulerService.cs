using System.Diagnostics;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Hosting;
using Platform.Scheduler.Leadership;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;
using Platform.SchedulerProtocol;

namespace Platform.Scheduler.Services;

/// <summary>
/// <c>dapr.proto.scheduler.v1.Scheduler</c>: answers with the codes and texts Dapr's scheduler uses, so a
/// sidecar can wrap them exactly as daprd does.
/// </summary>
public sealed partial class SchedulerService(
    SchedulerEngine engine,
    IHostApplicationLifetime lifetime,
    IOptions<SchedulerOptions> options,
    ILogger<SchedulerService> logger,
    EtcdLeadership? leadership = null) : SchedulerProtocol.Scheduler.SchedulerBase
{
    public override async Task<ScheduleJobResponse> ScheduleJob(ScheduleJobRequest request, ServerCallContext context)
    {
        var key = KeyOf(request.Metadata, request.Name);
        var traceParent = Activity.Current?.Id ?? context.RequestHeaders.GetValue("traceparent");
        var traceState = Activity.Current is not null ? Activity.Current.TraceStateString : context.RequestHeaders.GetValue("tracestate");
        // Refusals (JobErrors) become gRPC statuses in EngineErrorInterceptor.
        await engine.ScheduleJobAsync(key, ProtocolMapping.ToDefinition(request.Job, traceParent, traceState), request.Overwrite, context.CancellationToken);
        LogScheduled(logger, key.ToString());
        return new ScheduleJobResponse();
    }

    public override async Task<GetJobResponse> GetJob(GetJobRequest request, ServerCallContext context)
    {
        var key = KeyOf(request.Metadata, request.Name);
        var stored = await engine.GetJobAsync(key, context.CancellationToken)
            ?? throw new RpcException(new Status(StatusCode.NotFound, $"job not found: {request.Name}"));
        return new GetJobResponse { Job = ProtocolMapping.ToProtocol(stored) };
    }

    public override async Task<DeleteJobResponse> DeleteJob(DeleteJobRequest request, ServerCallContext context)
    {
        var key = KeyOf(request.Metadata, request.Name);
        await engine.DeleteJobAsync(key, context.CancellationToken);
        LogDeleted(logger, key.ToString());
        return new DeleteJobResponse();
    }

    public override async Task<ListJobsResponse> ListJobs(ListJobsRequest request, ServerCallContext context)
    {
        var (ns, app) = Scope(request.Metadata);
        var jobs = await engine.ListJobsAsync(ns, app, context.CancellationToken);
        var response = new ListJobsResponse();
        foreach (var job in jobs)
            response.Jobs.Add(new NamedJob { Name = job.Key.Name, Metadata = ProtocolMapping.Metadata(ns, app), Job = ProtocolMapping.ToProtocol(job) });
        return response;
    }

    public override async Task<DeleteByNamePrefixResponse> DeleteByNamePrefix(DeleteByNamePrefixRequest request, ServerCallContext context)
    {
        var (ns, app) = Scope(request.Metadata);
        await engine.DeleteByNamePrefixAsync(ns, app, request.NamePrefix, context.CancellationToken);
        return new DeleteByNamePrefixResponse();
    }

    public override async Task WatchJobs(IAsyncStreamReader<WatchJobsRequest> requestStream, IServerStreamWriter<WatchJobsResponse> responseStream, ServerCallContext context)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        var token = cts.Token;
        if (!await requestStream.MoveNext(token)) return;
        if (requestStream.Current.WatchJobRequestTypeCase != WatchJobsRequest.WatchJobRequestTypeOneofCase.Initial)
            throw new RpcException(new Status(StatusCode.InvalidArgument, "first message of WatchJobs must be initial"));
        var initial = requestStream.Current.Initial;
        if (string.IsNullOrEmpty(initial.Namespace) || string.IsNullOrEmpty(initial.AppId))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "missing namespace or appID in request"));
        // An empty list is Dapr's legacy "every type".
        var acceptsJobs = initial.AcceptJobTypes.Count == 0 || initial.AcceptJobTypes.Contains(JobTargetType.Job);

        using var stream = engine.OpenStream(initial.Namespace, initial.AppId, acceptsJobs);
        var metadata = ProtocolMapping.Metadata(stream.Namespace, stream.AppId);
        var sender = SendAsync(stream, metadata, responseStream, token);
        // A failed send ends the stream: its unanswered triggers are then redelivered elsewhere.
        _ = sender.ContinueWith(t =>
        {
            if (t.IsFaulted) LogSendFailed(logger, t.Exception!.GetBaseException(), stream.AppId);
            try { cts.Cancel(); } catch (ObjectDisposedException) { }
        }, CancellationToken.None, TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default);
        try
        {
            while (await requestStream.MoveNext(token))
            {
                var message = requestStream.Current;
                if (message.WatchJobRequestTypeCase == WatchJobsRequest.WatchJobRequestTypeOneofCase.Result)
                    stream.Ack(message.Result.Id, message.Result.Status == WatchJobsRequestResultStatus.Success);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested) { }
        catch (IOException) { }
        finally
        {
            cts.Cancel();
            // Dispose (via using) resolves whatever is still unanswered as undeliverable.
            try { await sender; } catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException) { }
        }
    }

    private static async Task SendAsync(JobStream stream, JobMetadata metadata, IServerStreamWriter<WatchJobsResponse> writer, CancellationToken token)
    {
        var reader = stream.Triggers;
        var buffered = new WriteOptions(WriteFlags.BufferHint);
        // One response is held back so that writes are coalesced while more triggers wait and the last one flushes,
        // even when the trigger after it turns out not to be sendable.
        WatchJobsResponse? held = null;
        while (await reader.WaitToReadAsync(token))
        {
            while (reader.TryRead(out var trigger))
            {
                if (ToResponse(stream, metadata, trigger) is not { } response) continue;
                if (held is not null)
                {
                    writer.WriteOptions = buffered;
                    await writer.WriteAsync(held, token);
                }
                held = response;
            }
            if (held is not null)
            {
                writer.WriteOptions = null;
                await writer.WriteAsync(held, token);
                held = null;
            }
        }
    }

    /// <summary>The trigger as sent to a sidecar, or null when the job's stored data is damaged: that job is then
    /// quarantined and the stream goes on for the others.</summary>
    private static WatchJobsResponse? ToResponse(JobStream stream, JobMetadata metadata, JobTrigger trigger)
    {
        var response = new WatchJobsResponse
        {
            Name = trigger.Key.Name,
            Id = trigger.Id,
            Metadata = metadata,
            ScheduledTime = Timestamp.FromDateTimeOffset(trigger.ScheduledTime),
        };
        if (trigger.Data is not null)
        {
            try { response.Data = Any.Parser.ParseFrom(trigger.Data); }
            catch (InvalidProtocolBufferException e)
            {
                stream.Reject(trigger.Id, new InvalidDataException("stored data does not parse: " + e.Message, e));
                return null;
            }
        }
        if (trigger.TraceParent is not null)
        {
            response.TraceContext["traceparent"] = trigger.TraceParent;
            if (!string.IsNullOrEmpty(trigger.TraceState)) response.TraceContext["tracestate"] = trigger.TraceState;
        }
        return response;
    }

    /// <summary>
    /// Every replica's address, then the new set whenever it changes (Dapr's sidecars follow it to open streams to replicas
    /// that join and close those of replicas that leave). A single scheduler announces itself only.
    /// </summary>
    public override async Task WatchHosts(WatchHostsRequest request, IServerStreamWriter<WatchHostsResponse> responseStream, ServerCallContext context)
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken, lifetime.ApplicationStopping);
        try
        {
            if (leadership is null)
            {
                await responseStream.WriteAsync(HostsResponse([options.Value.AdvertisedAddress]), cts.Token);
                await Task.Delay(Timeout.Infinite, cts.Token);
                return;
            }
            IReadOnlyList<string>? sent = null;
            while (true)
            {
                var hosts = leadership.Hosts;
                // Until this replica has read the keys, it knows only itself.
                var addresses = hosts.Addresses.Count > 0 ? hosts.Addresses : [options.Value.AdvertisedAddress];
                if (sent is null || !sent.SequenceEqual(addresses))
                {
                    await responseStream.WriteAsync(HostsResponse(addresses), cts.Token);
                    sent = addresses;
                }
                await hosts.Changed.WaitAsync(cts.Token);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static WatchHostsResponse HostsResponse(IEnumerable<string> addresses)
    {
        var response = new WatchHostsResponse();
        foreach (var address in addresses) response.Hosts.Add(new SchedulerProtocol.Host { Address = address });
        return response;
    }

    internal static (string Namespace, string AppId) Scope(JobMetadata? metadata)
    {
        if (metadata is null || string.IsNullOrEmpty(metadata.Namespace) || string.IsNullOrEmpty(metadata.AppId))
            throw new RpcException(new Status(StatusCode.InvalidArgument, "missing namespace or appID in request"));
        return (metadata.Namespace, metadata.AppId);
    }

    private static JobKey KeyOf(JobMetadata? metadata, string name)
    {
        var (ns, app) = Scope(metadata);
        return new JobKey(ns, app, name);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Sending triggers to {AppId} failed; closing the stream")]
    private static partial void LogSendFailed(ILogger logger, Exception exception, string appId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Scheduled job {Key}")]
    private static partial void LogScheduled(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Deleted job {Key}")]
    private static partial void LogDeleted(ILogger logger, string key);
}
