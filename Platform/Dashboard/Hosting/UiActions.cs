using Grpc.Core;
using Platform.Dashboard.Jobs;
using Platform.Dashboard.Resources;

namespace Platform.Dashboard.Hosting;

/// <summary>
/// The buttons of the UI: plain HTML form posts that act and redirect back (post/redirect/get), so they work
/// without script. Cross-site posts are refused (the login cookie is SameSite=Lax as well).
/// </summary>
public static class UiActions
{
    public static void MapUiActions(this IEndpointRouteBuilder app)
    {
        app.MapPost("/resources/{name}/commands/{command}", async (HttpContext ctx, string name, string command, ResourceServiceClient client) =>
        {
            if (IsCrossSite(ctx)) return Results.StatusCode(StatusCodes.Status403Forbidden);
            if (command is not ("start" or "stop" or "restart")) return Results.BadRequest($"Unknown command '{command}'.");
            string message;
            try
            {
                message = await client.SendCommandAsync(name, command, ctx.RequestAborted) switch
                {
                    CommandOutcome.Accepted => $"{command} sent to {name}.",
                    CommandOutcome.UnknownResource => $"Unknown resource {name}.",
                    CommandOutcome.NotAllowedNow => $"{command} is not allowed for {name} in its current state.",
                    _ => $"{command} of {name} failed.",
                };
            }
            catch (HttpRequestException ex)
            {
                message = $"Resource service unreachable: {ex.Message}";
            }
            return Results.Redirect("/?message=" + Uri.EscapeDataString(message));
        });

        app.MapPost("/jobs/delete", async (HttpContext ctx, SchedulerJobsClient jobs) =>
        {
            if (IsCrossSite(ctx)) return Results.StatusCode(StatusCodes.Status403Forbidden);
            var form = await ctx.Request.ReadFormAsync(ctx.RequestAborted);
            string ns = form["namespace"].ToString(), appId = form["appId"].ToString(), name = form["name"].ToString();
            if (appId.Length == 0 || name.Length == 0) return Results.BadRequest("appId and name are required.");
            string message;
            try
            {
                await jobs.DeleteAsync(ns, appId, name, ctx.RequestAborted);
                message = $"Deleted job {name} of {appId}.";
            }
            catch (RpcException ex)
            {
                message = $"Delete of {name} failed: {ex.Status.StatusCode} {ex.Status.Detail}";
            }
            return Results.Redirect("/jobs?message=" + Uri.EscapeDataString(message));
        });
    }

    private static bool IsCrossSite(HttpContext ctx) =>
        ctx.Request.Headers["Sec-Fetch-Site"].ToString() is "cross-site";
}
