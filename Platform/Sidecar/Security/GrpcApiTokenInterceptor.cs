using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Api;
using Platform.Sidecar.Hosting;

namespace Platform.Sidecar.Security;

/// <summary>DAPR_API_TOKEN enforcement on the gRPC runtime API, with daprd's messages.</summary>
public sealed class GrpcApiTokenInterceptor(IOptions<SidecarOptions> options) : Interceptor
{
    private readonly string? _token = string.IsNullOrEmpty(options.Value.ApiToken) ? null : options.Value.ApiToken;

    public override Task<TResponse> UnaryServerHandler<TRequest, TResponse>(TRequest request, ServerCallContext context,
        UnaryServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, context);
    }

    public override Task ServerStreamingServerHandler<TRequest, TResponse>(TRequest request, IServerStreamWriter<TResponse> responseStream,
        ServerCallContext context, ServerStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(request, responseStream, context);
    }

    public override Task<TResponse> ClientStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        ServerCallContext context, ClientStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, context);
    }

    public override Task DuplexStreamingServerHandler<TRequest, TResponse>(IAsyncStreamReader<TRequest> requestStream,
        IServerStreamWriter<TResponse> responseStream, ServerCallContext context, DuplexStreamingServerMethod<TRequest, TResponse> continuation)
    {
        Check(context);
        return continuation(requestStream, responseStream, context);
    }

    private void Check(ServerCallContext context)
    {
        // Reflection describes the API but exposes no data; the SDK probes it before it has a reason to send a token.
        if (_token is null || !context.Method.StartsWith("/" + DaprServiceBase.ServiceName + "/", StringComparison.Ordinal)) return;
        var presented = context.RequestHeaders.GetValue("dapr-api-token");
        if (presented is null) throw new RpcException(new Status(StatusCode.Unauthenticated, "missing api token in request metadata"));
        if (!ApiToken.Matches(_token, presented)) throw new RpcException(new Status(StatusCode.Unauthenticated, "authentication error: api token mismatch"));
    }
}
