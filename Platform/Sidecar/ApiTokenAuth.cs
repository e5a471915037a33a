using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Grpc.Core.Interceptors;
using Microsoft.Extensions.Options;

namespace Platform.Sidecar;

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

public static class ApiToken
{
    public static bool Matches(string expected, string presented) =>
        CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(expected), Encoding.UTF8.GetBytes(presented));

    /// <summary>
    /// The sidecar's ports answer only what they are for, and every API route its token: the gRPC port serves gRPC
    /// alone (404 for anything else, which would otherwise reach the HTTP routes over h2c without the interceptor's
    /// check); on the HTTP port, with DAPR_API_TOKEN set, every route but the health probes needs it, answered with
    /// 401 "invalid api token" (text/plain) as daprd does. The token is this app's alone: another app's sidecar
    /// never sees it. Sidecars prove themselves to each other by certificate on the internal port (mTLS), which
    /// serves the sidecar-to-sidecar route only and is not token-checked; without mTLS that route is on the HTTP port
    /// behind this token like every other.
    /// </summary>
    public static IApplicationBuilder UseDaprApiToken(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<SidecarOptions>>().Value;
        var internalPort = app.ApplicationServices.GetRequiredService<Platform.Sidecar.Security.SidecarSecurity>().InternalPort;
        return app.Use(async (context, next) =>
        {
            if (context.Connection.LocalPort == internalPort)
            {
                await next(context); // UseInternalInvocationPort admitted a peer's certificate, for the internal route only
                return;
            }
            if (context.Connection.LocalPort == options.DaprGrpcPort)
            {
                if (context.Request.ContentType?.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase) == true)
                    await next(context); // the interceptor checks the token
                else
                    context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            var path = context.Request.Path.Value ?? "";
            var open = string.IsNullOrEmpty(options.ApiToken) || path is "/v1.0/healthz" or "/v1.0/healthz/outbound";
            if (!open && !Matches(options.ApiToken!, context.Request.Headers["dapr-api-token"].ToString()))
            {
                context.Response.StatusCode = 401;
                context.Response.ContentType = "text/plain";
                await context.Response.WriteAsync("invalid api token");
                return;
            }
            await next(context);
        });
    }
}
