using Platform.Scheduler.Engine;

namespace Platform.Scheduler.Hosting;

/// <summary>
/// <c>GET /healthz</c>: 200 while the engine's dispatch loop runs (every stored job is loaded before it starts),
/// 503 when it is not running (not started yet, stopped, or ended by a fault), so an orchestrator restarts a
/// scheduler that has stopped sending triggers.
/// </summary>
internal static class HealthEndpoint
{
    public static int StatusCode(SchedulerEngine engine) =>
        engine.IsDispatching ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;

    public static Task HandleAsync(HttpContext context, SchedulerEngine engine)
    {
        if (context.Request.Path != "/healthz")
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        context.Response.StatusCode = StatusCode(engine);
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(context.Response.StatusCode == StatusCodes.Status200OK ? "ok" : "dispatch loop not running");
    }
}
