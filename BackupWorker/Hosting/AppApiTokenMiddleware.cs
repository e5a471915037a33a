using System.Security.Cryptography;
using System.Text;

namespace BackupWorker.Hosting;

/// <summary>
/// When <c>APP_API_TOKEN</c> is set, the sidecar sends it as <c>dapr-api-token</c> on every call to the app (job
/// triggers and service invocation); anything else reaching the worker's port without it is refused with 401.
/// Health endpoints stay open for the AppHost's probes.
/// </summary>
public static class AppApiTokenMiddleware
{
    public static IApplicationBuilder UseAppApiToken(this IApplicationBuilder app, string? token)
    {
        if (string.IsNullOrEmpty(token)) return app;
        var expected = Encoding.UTF8.GetBytes(token);
        return app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (path.StartsWithSegments("/health") || path.StartsWithSegments("/alive"))
            {
                await next(context);
                return;
            }
            var given = Encoding.UTF8.GetBytes(context.Request.Headers["dapr-api-token"].ToString());
            if (!CryptographicOperations.FixedTimeEquals(given, expected))
            {
                await TypedResults.Problem("The request lacks the app API token the sidecar sends (dapr-api-token).", statusCode: 401, title: "Unauthorized")
                    .ExecuteAsync(context);
                return;
            }
            await next(context);
        });
    }
}
