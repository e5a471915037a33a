using Dapr.AppCallback.Autogen.Grpc.v1;
using Dapr.Client.Autogen.Grpc.v1;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.Sidecar.Api;
using Platform.Sidecar.Hosting;

namespace Platform.Sidecar.AppChannel;

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
