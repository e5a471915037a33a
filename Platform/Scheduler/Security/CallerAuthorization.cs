using Grpc.Core;
using Grpc.Core.Interceptors;
using Platform.Security;
using Microsoft.Extensions.Options;
using Platform.Scheduler.Hosting;
using Platform.SchedulerProtocol;

namespace Platform.Scheduler.Security;

/// <summary>
/// Serves a call only for the app id the caller's certificate names, as Dapr's scheduler authz does: the namespace
/// and app id of a request's metadata (or of WatchJobs' first message) must be the certificate's, else
/// PERMISSION_DENIED "identity does not match request". The AppHost's identity may read and delete any app's jobs (the
/// dashboard's jobs view) and is the only caller of the admin API; it can neither schedule nor receive triggers.
/// </summary>
public sealed partial class CallerAuthorization(SchedulerSecurity security, IOptions<SchedulerOptions> options, ILogger<CallerAuthorization> logger) : Interceptor
{
    private const string AdminService = "/platform.scheduler.v1.SchedulerAdmin/";

    /// <summary>Apps' identities are in the apps' trust domains (their Configurations' accessControl.trustDomain, --app-trust-domains).</summary>
    private readonly IReadOnlySet<string> _appTrustDomains = options.Value.ParseAppTrustDomains();

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        var caller = Caller(context);
        if (context.Method.StartsWith(AdminService, StringComparison.Ordinal))
        {
            if (caller != security.AdminId) throw Denied(context, caller, "the admin API");
        }
        else
        {
            var (metadata, adminMay) = request switch
            {
                ScheduleJobRequest r => (r.Metadata, false),
                GetJobRequest r => (r.Metadata, true),
                DeleteJobRequest r => (r.Metadata, true),
                ListJobsRequest r => (r.Metadata, true),
                DeleteByNamePrefixRequest r => (r.Metadata, false),
                _ => throw Denied(context, caller, context.Method),
            };
            Authorize(context, caller, metadata?.Namespace, metadata?.AppId, adminMay);
        }
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        // WatchHosts: the scheduler's own address, for any app of the apps' trust domain (and the AppHost).
        var caller = Caller(context);
        if (request is not WatchHostsRequest || (!_appTrustDomains.Contains(caller.TrustDomain) && caller != security.AdminId))
            throw Denied(context, caller, context.Method);
        return continuation(request, responseStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        var caller = Caller(context);
        return continuation(new FirstMessageCheck<TRequest>(requestStream, first =>
        {
            if (first is not WatchJobsRequest { Initial: { } initial }) return; // the service refuses a stream without its initial message
            Authorize(context, caller, initial.Namespace, initial.AppId, adminMay: false);
        }), responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
        => throw Denied(context, Caller(context), context.Method);

    private static SpiffeId Caller(ServerCallContext context) =>
        context.GetHttpContext().PeerId()
        // The handshake already refused a client without a valid certificate; this is the second lock.
        ?? throw new RpcException(new Status(StatusCode.Unauthenticated, "failed to get identity from context"));

    private void Authorize(ServerCallContext context, SpiffeId caller, string? ns, string? appId, bool adminMay)
    {
        // Missing values are the service's InvalidArgument, as in Dapr, which checks them first.
        if (string.IsNullOrEmpty(ns) || string.IsNullOrEmpty(appId)) return;
        // The exact id: trust domain too, so a certificate for spiffe://evil.example/ns/<ns>/<app> is no one here.
        if (_appTrustDomains.Contains(caller.TrustDomain) && caller.Namespace == ns && caller.AppId == appId) return;
        if (adminMay && caller == security.AdminId) return;
        throw Denied(context, caller, $"{ns}/{appId}");
    }

    private RpcException Denied(ServerCallContext context, SpiffeId? caller, string what)
    {
        LogDenied(logger, caller?.ToString() ?? "(none)", context.Method, what);
        return new RpcException(new Status(StatusCode.PermissionDenied, "identity does not match request"));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused {Caller} calling {Method} for {What}")]
    private static partial void LogDenied(ILogger logger, string caller, string method, string what);

    /// <summary>Runs a check on the first message read from the stream before the service sees it.</summary>
    private sealed class FirstMessageCheck<T>(IAsyncStreamReader<T> inner, Action<T> check) : IAsyncStreamReader<T>
    {
        private bool _checked;

        public T Current => inner.Current;

        public async Task<bool> MoveNext(CancellationToken cancellationToken)
        {
            var more = await inner.MoveNext(cancellationToken);
            if (more && !_checked)
            {
                _checked = true;
                check(inner.Current);
            }
            return more;
        }
    }
}
