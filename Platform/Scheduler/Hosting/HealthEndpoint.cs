using Platform.Scheduler.Engine;
using Platform.Scheduler.Leadership;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Hosting;

/// <summary>
/// <c>GET /healthz</c>: 200 while the engine's dispatch loop runs (every stored job is loaded before it starts),
/// 503 when it is not running (not started yet, stopped, or ended by a fault), so an orchestrator restarts a
/// scheduler that has stopped sending triggers. A store that reports a problem (an etcd cluster that does not answer or
/// has lost its quorum) makes it 503 too, with the reason, so a lost cluster is never a silent stall; so does a replica
/// that fires no partition (the replicas have not agreed yet).
/// </summary>
internal static class HealthEndpoint
{
    public static int StatusCode(SchedulerEngine engine, IJobStore? store = null, EtcdLeadership? leadership = null, Platform.Security.WorkloadIdentity? identity = null) =>
        Reason(engine, store, leadership, identity) is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;

    /// <summary>Every reason the scheduler is not doing its work, or null.</summary>
    private static string? Reason(SchedulerEngine engine, IJobStore? store, EtcdLeadership? leadership, Platform.Security.WorkloadIdentity? identity = null)
    {
        string?[] reasons =
        [
            engine.IsDispatching ? null : "dispatch loop not running",
            (store as IStoreHealth)?.Problem is { } problem ? "job store unavailable: " + problem : null,
            leadership?.Problem is { } waiting ? "this replica fires no jobs: " + waiting : null,
            Platform.Security.Renewal.IdentityHealth.HealthProblem(identity),
        ];
        var found = reasons.OfType<string>().ToList();
        return found.Count == 0 ? null : string.Join("; ", found);
    }

    public static Task HandleAsync(HttpContext context, SchedulerEngine engine, IJobStore? store = null, EtcdLeadership? leadership = null, Platform.Security.WorkloadIdentity? identity = null)
    {
        if (context.Request.Path != "/healthz")
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        }
        var reason = Reason(engine, store, leadership, identity);
        context.Response.StatusCode = reason is null ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
        context.Response.Headers.CacheControl = "no-store";
        return context.Response.WriteAsync(reason ?? "ok");
    }
}
