using Platform.Security;
using Platform.Sidecar.Invocation;

namespace Platform.Sidecar.Security;

/// <summary>
/// With mTLS on, the sidecar-to-sidecar route lives on the internal port alone and that port serves nothing else;
/// the caller's app id is the one its certificate names, whatever header it sent.
/// </summary>
public static class InternalInvocationPort
{
    private const string CallerHeader = "dapr-caller-app-id";

    public static IApplicationBuilder UseInternalInvocationPort(this IApplicationBuilder app)
    {
        var security = app.ApplicationServices.GetRequiredService<SidecarSecurity>();
        if (security.InternalPort is not { } port) return app;
        return app.Use(async (context, next) =>
        {
            var onInternalPort = context.Connection.LocalPort == port;
            var internalRoute = context.Request.Path.Value?.StartsWith(ServiceInvoker.InternalPrefix, StringComparison.Ordinal) == true;
            if (onInternalPort != internalRoute)
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }
            if (onInternalPort)
            {
                // The handshake admitted only client certificates with one exact SPIFFE id from the trust anchors; a
                // sidecar of another trust domain is no peer of this one.
                var caller = context.PeerId();
                if (caller is null || caller.TrustDomain != security.Identity!.Id.TrustDomain)
                {
                    context.Response.StatusCode = StatusCodes.Status403Forbidden;
                    return;
                }
                context.Request.Headers[CallerHeader] = caller.AppId;
            }
            await next(context);
        });
    }
}
