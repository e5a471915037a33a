using Platform.Dashboard.Security;

namespace Platform.Dashboard.Hosting;

/// <summary>
/// First middleware: keeps each port to its job, checks the OTLP API key on the OTLP ports and the browser
/// login on the UI port.
/// </summary>
public sealed class ListenerGate(DashboardListeners listeners, FrontendAuth auth, Microsoft.Extensions.Options.IOptions<DashboardOptions> options)
{
    private const string GrpcPathPrefix = "/opentelemetry.proto.collector.";
    private readonly string? _primaryKey = Blank(options.Value.Otlp.PrimaryApiKey);
    private readonly string? _secondaryKey = Blank(options.Value.Otlp.SecondaryApiKey);

    private static string? Blank(string? s) => string.IsNullOrEmpty(s) ? null : s;

    public async Task InvokeAsync(HttpContext ctx, RequestDelegate next)
    {
        var path = ctx.Request.Path.Value ?? "";
        if (path == "/healthz") { await next(ctx); return; }

        switch (listeners.RoleOf(ctx.Connection.LocalPort))
        {
            case ListenerRole.OtlpGrpc:
                if (!path.StartsWith(GrpcPathPrefix, StringComparison.Ordinal)) { ctx.Response.StatusCode = 404; return; }
                if (!ApiKeyAccepted(ctx))
                {
                    // A gRPC client reads the status from the trailers-only response, not the HTTP status.
                    ctx.Response.StatusCode = 200;
                    ctx.Response.ContentType = "application/grpc";
                    ctx.Response.Headers["grpc-status"] = "16";
                    ctx.Response.Headers["grpc-message"] = "Missing or invalid x-otlp-api-key header.";
                    return;
                }
                break;
            case ListenerRole.OtlpHttp:
                if (!path.StartsWith("/v1/", StringComparison.Ordinal)) { ctx.Response.StatusCode = 404; return; }
                if (!ApiKeyAccepted(ctx))
                {
                    ctx.Response.StatusCode = 401;
                    await ctx.Response.WriteAsync("Missing or invalid x-otlp-api-key header.");
                    return;
                }
                break;
            default:
                if (path.StartsWith(GrpcPathPrefix, StringComparison.Ordinal) || path.StartsWith("/v1/", StringComparison.Ordinal))
                {
                    ctx.Response.StatusCode = 404;
                    return;
                }
                if (path == "/login" || path.StartsWith("/assets/", StringComparison.Ordinal) || auth.IsAuthenticated(ctx)) break;
                if (HttpMethods.IsGet(ctx.Request.Method))
                    ctx.Response.Redirect("/login?returnUrl=" + Uri.EscapeDataString(path + ctx.Request.QueryString));
                else
                    ctx.Response.StatusCode = 401;
                return;
        }
        await next(ctx);
    }

    private bool ApiKeyAccepted(HttpContext ctx)
    {
        if (_primaryKey is null) return true;
        var given = ctx.Request.Headers["x-otlp-api-key"].ToString();
        return FrontendAuth.FixedTimeEquals(given, _primaryKey) || (_secondaryKey is not null && FrontendAuth.FixedTimeEquals(given, _secondaryKey));
    }
}
