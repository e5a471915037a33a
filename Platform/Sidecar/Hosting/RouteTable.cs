using Grpc.AspNetCore.Server;

namespace Platform.Sidecar.Hosting;

/// <summary>
/// Logs (debug) every endpoint the sidecar maps, HTTP routes and gRPC methods, from the routing's own endpoint data
/// source once the app has started: what is served is then stated by the process itself, and the token and access
/// tests walk that list rather than a hand-kept one, so a route added later is covered without editing them.
/// </summary>
public static partial class RouteTable
{
    public static void LogOnStart(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RouteTable).FullName!);
        if (!logger.IsEnabled(LogLevel.Debug)) return;
        app.Lifetime.ApplicationStarted.Register(() =>
        {
            foreach (var endpoint in app.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>())
            {
                var kind = endpoint.Metadata.GetMetadata<GrpcMethodMetadata>() is null ? "http" : "grpc";
                var methods = endpoint.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods is { Count: > 0 } m ? string.Join(',', m) : "*";
                LogEndpoint(logger, kind, methods, endpoint.RoutePattern.RawText ?? "");
            }
        });
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Endpoint {Kind} {Methods} {Pattern}")]
    private static partial void LogEndpoint(ILogger logger, string kind, string methods, string pattern);
}
