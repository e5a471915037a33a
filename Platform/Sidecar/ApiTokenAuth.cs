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
    /// DAPR_API_TOKEN enforcement on the HTTP API: 401 "invalid api token" (text/plain) except health probes and the
    /// sidecar-to-sidecar invocation route. gRPC-port requests are left to the interceptor.
    /// </summary>
    public static IApplicationBuilder UseDaprApiToken(this IApplicationBuilder app)
    {
        var options = app.ApplicationServices.GetRequiredService<IOptions<SidecarOptions>>().Value;
        if (string.IsNullOrEmpty(options.ApiToken)) return app;
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path.Value ?? "";
            var exempt = context.Connection.LocalPort == options.DaprGrpcPort
                || path is "/v1.0/healthz" or "/v1.0/healthz/outbound"
                || path.StartsWith(ServiceInvoker.InternalPrefix, StringComparison.Ordinal);
            if (!exempt)
            {
                var presented = context.Request.Headers["dapr-api-token"].ToString();
                if (!Matches(options.ApiToken, presented))
                {
                    context.Response.StatusCode = 401;
                    context.Response.ContentType = "text/plain";
                    await context.Response.WriteAsync("invalid api token");
                    return;
                }
            }
            await next(context);
        });
    }
}
