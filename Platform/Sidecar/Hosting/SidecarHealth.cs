using Microsoft.AspNetCore.Http.HttpResults;
using Platform.Security.Renewal;
using Platform.Sidecar.Security;

namespace Platform.Sidecar.Hosting;

/// <summary>
/// <c>GET /v1.0/healthz</c>: 204 while the sidecar can do its work; 500 with daprd's ERR_HEALTH_NOT_READY and the reason
/// when it cannot, such as an identity whose certificate expired because renewal kept failing (every mTLS call and
/// stream would fail, so an orchestrator must see it).
/// </summary>
public static class SidecarHealth
{
    public sealed record NotReady(string ErrorCode, string Message);

    public static Results<NoContent, JsonHttpResult<NotReady>> Healthz(SidecarSecurity security, TimeProvider time) =>
        security.Identity.HealthProblem(time) is { } problem
            ? TypedResults.Json(new NotReady("ERR_HEALTH_NOT_READY", "dapr is not ready: " + problem), statusCode: StatusCodes.Status500InternalServerError)
            : TypedResults.NoContent();
}
