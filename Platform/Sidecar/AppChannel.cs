using System.Diagnostics;
using System.Net;
using Dapr.AppCallback.Autogen.Grpc.v1;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Options;

namespace Platform.Sidecar;

/// <summary>Delivers a job trigger to the app; true means the trigger counts as SUCCESS for the scheduler.</summary>
public interface IAppChannel
{
    Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct);

    /// <summary>One app health probe (--enable-app-health-check); true = healthy.</summary>
    Task<bool> ProbeHealthAsync(string path, CancellationToken ct);
}

/// <summary>Chooses the channel the way daprd does: none without an app port, gRPC for --app-protocol grpc, else HTTP.</summary>
public static class AppChannelFactory
{
    public static IAppChannel Create(IServiceProvider services)
    {
        var options = services.GetRequiredService<IOptions<SidecarOptions>>().Value;
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger("Platform.Sidecar.AppChannel");
        if (options.AppPortNumber is null) return new NoAppChannel(logger);
        IAppChannel channel = options.AppIsGrpc
            ? new GrpcAppChannel(options, logger)
            : new HttpAppChannel(options, services.GetRequiredService<AppHttpClient>(), logger);
        return options.AppJobTimeout > 0
            ? new TimedAppChannel(channel, TimeSpan.FromMilliseconds(options.AppJobTimeout), services.GetRequiredService<TimeProvider>(), logger)
            : channel;
    }
}

internal sealed partial class NoAppChannel(ILogger logger) : IAppChannel
{
    public Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct)
    {
        LogNoChannel(logger, trigger.Name);
        return Task.FromResult(false);
    }

    public Task<bool> ProbeHealthAsync(string path, CancellationToken ct) => Task.FromResult(true);

    [LoggerMessage(Level = LogLevel.Warning, Message = "received job, but app channel not initialized (job {JobName})")]
    private static partial void LogNoChannel(ILogger logger, string jobName);
}

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

/// <summary>
/// <c>POST /job/&lt;name&gt;</c> with daprd's body and headers (plus ours, <see cref="JobTrigger.ScheduledTimeHeader"/>).
/// 2xx and 404 are SUCCESS, anything else FAILED.
/// </summary>
internal sealed partial class HttpAppChannel(SidecarOptions options, AppHttpClient http, ILogger logger) : IAppChannel
{
    private readonly string _baseUrl = options.AppBaseUrl;

    public async Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct)
    {
        var name = trigger.Name;
        using var request = new HttpRequestMessage(HttpMethod.Post, _baseUrl + "/job/" + Uri.EscapeDataString(name.TrimStart('/')));
        var content = new ReadOnlyMemoryContent(JobPayload.HttpBody(trigger.Data));
        content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
        request.Content = content;
        if (!string.IsNullOrEmpty(options.AppApiToken)) request.Headers.TryAddWithoutValidation("dapr-api-token", options.AppApiToken);
        if (trigger.ScheduledTimeText is { } scheduled) request.Headers.TryAddWithoutValidation(JobTrigger.ScheduledTimeHeader, scheduled);
        TraceHeaders.Inject(request);
        try
        {
            using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
            var status = (int)response.StatusCode;
            if (status is >= 200 and < 300) return true;
            if (status == 404)
            {
                LogNotFound(logger, name);
                return true;
            }
            LogFailed(logger, name, status);
            return false;
        }
        catch (HttpRequestException ex)
        {
            LogUnreachable(logger, name, ex.Message);
            return false;
        }
    }

    public async Task<bool> ProbeHealthAsync(string path, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, _baseUrl + "/" + path.TrimStart('/'));
        if (!string.IsNullOrEmpty(options.AppApiToken)) request.Headers.TryAddWithoutValidation("dapr-api-token", options.AppApiToken);
        using var response = await http.Client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
        return response.IsSuccessStatusCode;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "App answered 404 for job {JobName}: non-retriable, not retried")]
    private static partial void LogNotFound(ILogger logger, string jobName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App answered {Status} for job {JobName}")]
    private static partial void LogFailed(ILogger logger, string jobName, int status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App unreachable for job {JobName}: {Error}")]
    private static partial void LogUnreachable(ILogger logger, string jobName, string error);
}

/// <summary>
/// <c>AppCallback/OnJobEvent</c>, falling back to <c>AppCallbackAlpha/OnJobEventAlpha1</c> on UNIMPLEMENTED.
/// Dapr.Protos has only server bases for these services, so the client method descriptors are built here.
/// </summary>
internal sealed partial class GrpcAppChannel : IAppChannel, IDisposable
{
    private static readonly Method<JobEventRequest, JobEventResponse> OnJobEvent = new(MethodType.Unary,
        "dapr.proto.runtime.v1.AppCallback", "OnJobEvent", ProtoMarshaller<JobEventRequest>.Instance, ProtoMarshaller<JobEventResponse>.Instance);
    private static readonly Method<JobEventRequest, JobEventResponse> OnJobEventAlpha1 = new(MethodType.Unary,
        "dapr.proto.runtime.v1.AppCallbackAlpha", "OnJobEventAlpha1", ProtoMarshaller<JobEventRequest>.Instance, ProtoMarshaller<JobEventResponse>.Instance);

    private readonly SidecarOptions _options;
    private readonly ILogger _logger;
    private readonly GrpcChannel _channel;

    public GrpcAppChannel(SidecarOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _channel = GrpcChannel.ForAddress(options.AppBaseUrl, new GrpcChannelOptions
        {
            HttpHandler = new SocketsHttpHandler { EnableMultipleHttp2Connections = true, ConnectTimeout = TimeSpan.FromSeconds(5) },
            MaxReceiveMessageSize = null,
            MaxSendMessageSize = null,
        });
    }

    public async Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct)
    {
        var (name, data) = (trigger.Name, trigger.Data);
        var request = new JobEventRequest
        {
            Name = name,
            Method = "job/" + name,
            ContentType = data?.TypeUrl ?? "",
            HttpExtension = new HTTPExtension { Verb = HTTPExtension.Types.Verb.Post },
        };
        if (data is not null) request.Data = data;
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(_options.AppApiToken)) headers.Add("dapr-api-token", _options.AppApiToken);
        if (trigger.ScheduledTimeText is { } scheduled) headers.Add(JobTrigger.ScheduledTimeHeader, scheduled);
        TraceHeaders.Inject(headers);
        var invoker = _channel.CreateCallInvoker();
        try
        {
            try
            {
                await invoker.AsyncUnaryCall(OnJobEvent, null, new CallOptions(headers, cancellationToken: ct), request);
            }
            catch (RpcException ex) when (ex.StatusCode == StatusCode.Unimplemented)
            {
                await invoker.AsyncUnaryCall(OnJobEventAlpha1, null, new CallOptions(headers, cancellationToken: ct), request);
            }
            return true;
        }
        catch (RpcException ex) when (ex.StatusCode == StatusCode.NotFound)
        {
            LogNotFound(_logger, name);
            return true;
        }
        catch (RpcException ex)
        {
            LogFailed(_logger, name, ex.StatusCode, ex.Status.Detail);
            return false;
        }
    }

    public async Task<bool> ProbeHealthAsync(string path, CancellationToken ct)
    {
        var headers = new Metadata();
        if (!string.IsNullOrEmpty(_options.AppApiToken)) headers.Add("dapr-api-token", _options.AppApiToken);
        try
        {
            await _channel.CreateCallInvoker().AsyncUnaryCall(AppHealthCheckMethod.HealthCheck, null,
                new CallOptions(headers, cancellationToken: ct), new Empty());
            return true;
        }
        catch (RpcException)
        {
            return false;
        }
    }

    public void Dispose() => _channel.Dispose();

    [LoggerMessage(Level = LogLevel.Warning, Message = "App answered NOT_FOUND for job {JobName}: non-retriable, not retried")]
    private static partial void LogNotFound(ILogger logger, string jobName);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App answered {Code} for job {JobName}: {Detail}")]
    private static partial void LogFailed(ILogger logger, string jobName, StatusCode code, string detail);
}

/// <summary>W3C trace context onto outgoing calls, from the current delivery span.</summary>
internal static class TraceHeaders
{
    public static void Inject(HttpRequestMessage request)
    {
        var activity = Activity.Current;
        if (activity is null) return;
        request.Headers.Remove("traceparent");
        request.Headers.TryAddWithoutValidation("traceparent", activity.Id);
        if (!string.IsNullOrEmpty(activity.TraceStateString)) request.Headers.TryAddWithoutValidation("tracestate", activity.TraceStateString);
    }

    public static void Inject(Metadata headers)
    {
        var activity = Activity.Current;
        if (activity is null) return;
        headers.Add("traceparent", activity.Id!);
        if (!string.IsNullOrEmpty(activity.TraceStateString)) headers.Add("tracestate", activity.TraceStateString);
    }
}
