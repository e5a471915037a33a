using Platform.Sidecar.Api;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Invocation;
using System.Text.Json;
using Microsoft.Extensions.Options;
using Platform.Security;

namespace Platform.Sidecar.AccessControl;

/// <summary>
/// The callee's side of service invocation (daprd's CallLocal): a call from another sidecar reaches this sidecar's
/// own app only, and, with a Configuration's accessControl, only when the policy allows the caller its certificate
/// proves, for the normalized method and the call's verb. A refusal is daprd's: 403 with ERR_DIRECT_INVOKE and
/// "rpc error: code = PermissionDenied desc = access control policy has denied access to id: …".
/// </summary>
public sealed partial class InternalInvocation(
    ServiceInvoker invoker, SidecarAccessControl accessControl, IOptions<SidecarOptions> options, ILogger<InternalInvocation> logger)
{
    private static readonly HashSet<string> Verbs = ["GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT", "OPTIONS", "TRACE", "PATCH"];

    public Task HandleAsync(HttpContext context, string appId, string? method)
    {
        method ??= "";
        if (!invoker.IsOwnApp(appId))
            return Refuse(context, ServiceInvoker.InvokeError(appId, $"this sidecar serves app {options.Value.AppId} only"));
        if (accessControl.List is not { } acl) return invoker.ForwardAsync(context, appId, method);

        // The method as the app would see it: decoded once, then daprd's normalization (no '#', '?', control
        // characters; dot segments resolved). The check and the delivery use this one string.
        var decoded = Uri.UnescapeDataString(ServiceInvoker.EscapedMethod(context, method));
        var normalized = MethodNormalizer.Normalize(decoded, out var invalid);
        if (normalized is null)
            return Refuse(context, Failed(appId, 500, "InvalidArgument", $"invalid method: {invalid}"));
        var verb = context.Request.Headers.ContainsKey(ServiceInvoker.NoVerbHeader) ? null : context.Request.Method.ToUpperInvariant();
        if (verb is not null && !Verbs.Contains(verb)) verb = null;
        var caller = context.PeerId();
        if (!acl.IsAllowed(caller, normalized, verb))
        {
            var message = AccessControlList.DeniedMessage(caller, normalized, verb);
            LogDenied(logger, message);
            return Refuse(context, Failed(appId, 403, "PermissionDenied", message));
        }
        return invoker.ForwardAsync(context, appId, method, MethodNormalizer.Escape(normalized));
    }

    /// <summary>The message of the callee sidecar's error body, for the calling sidecar to report.</summary>
    public static string? SidecarErrorMessage(byte[] body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object && document.RootElement.TryGetProperty("message", out var m)
                ? m.GetString() : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>What the calling daprd reports when the callee answers with a gRPC status: ERR_DIRECT_INVOKE around it.</summary>
    private static DaprError Failed(string appId, int httpStatus, string code, string detail) =>
        new(Grpc.Core.StatusCode.Internal, httpStatus, "ERR_DIRECT_INVOKE",
            $"failed to invoke, id: {appId}, err: rpc error: code = {code} desc = {detail}", null);

    private static Task Refuse(HttpContext context, DaprError error)
    {
        context.Response.Headers[ServiceInvoker.SidecarErrorHeader] = "true";
        return error.ToHttpResult().ExecuteAsync(context);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service invocation refused: {Message}")]
    private static partial void LogDenied(ILogger logger, string message);
}
