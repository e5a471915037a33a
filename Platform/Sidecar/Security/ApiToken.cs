using Platform.Sidecar.Hosting;
using System.Security.Cryptography;
using System.Text;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace Platform.Sidecar.Security;

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
