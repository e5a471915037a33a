using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Hosting;

/// <summary>
/// <c>GET /healthz</c>: 200 while the engine's dispatch loop runs (every stored job is loaded before it starts),
/// 503 when it is not running (not started yet, stopped, or ended by a fault), so an orchestrator restarts a
/// scheduler that has stopped sending triggers. A store that reports a problem (an etcd cluster that does not answer or
/// has lost its quorum) makes it 503 too, with the reason, so a lost cluster is never a silent stall.
/// </summary>
internal static class HealthEndpoint
{
    public static int StatusCode(SchedulerEngine engine, IJobStore? store = null) =>
        engine.IsDispatching && Problem(store) is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;

    private static string? Problem(IJobStore? store) => (store as IStoreHealth)?.Problem;

    public static Task HandleAsync(HttpContext context, SchedulerEngine engine, IJobStore? store = null)
    {
        if (context.Request.Path != "/healthz")
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        context.Response.StatusCode = StatusCode(engine, store);
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(context.Response.StatusCode == StatusCodes.Status200OK ? "ok"
            : !engine.IsDispatching ? "dispatch loop not running"
            : "job store unavailable: " + Problem(store));
    }
}
