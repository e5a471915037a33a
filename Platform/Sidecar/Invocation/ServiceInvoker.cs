using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Platform.Sidecar.Api;
using Platform.Sidecar.AppChannel;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Security;
using Microsoft.Extensions.Primitives;

namespace Platform.Sidecar.Invocation;

/// <summary>
/// Service invocation: a call for this sidecar's own app id goes straight to the app; any other app id is resolved
/// through the shared registry and forwarded to that app's sidecar, which calls its app. Method, path, query,
/// headers and body go through unchanged; the app's status, headers and body come back.
/// </summary>
public sealed partial class ServiceInvoker(
    AppHttpClient http, AppRegistry registry, SidecarSecurity security, IOptions<SidecarOptions> options, ILogger<ServiceInvoker> logger)
{
    /// <summary>
    /// The sidecar-to-sidecar route: it serves only this sidecar's own app. With mTLS on it is on the internal port and
    /// the caller is its certificate; with mTLS off it is on the HTTP port behind this sidecar's own API token.
    /// </summary>
    public const string InternalPrefix = "/v1.0-internal/invoke/";

    /// <summary>On the sidecar-to-sidecar hop: the call had no HTTP verb (gRPC InvokeService without http_extension), as access control tells apart.</summary>
    public const string NoVerbHeader = "dapr-internal-no-verb";

    /// <summary>On the answer of the sidecar-to-sidecar hop: the body is the callee sidecar's error, not the app's answer.</summary>
    public const string SidecarErrorHeader = "dapr-internal-sidecar-error";

    private static readonly HashSet<string> HopByHop = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization", "TE", "Trailer", "Transfer-Encoding",
        "Upgrade", "Host", "dapr-api-token", "dapr-app-id", "traceparent", "tracestate", NoVerbHeader,
    };

    private readonly SidecarOptions _options = options.Value;

    public sealed record Target(Uri Uri, bool Local);

    /// <summary>Where a call for this app id and method should go, or a daprd-style error.</summary>
    public async Task<Target> ResolveAsync(string appId, string method, string query, CancellationToken ct)
    {
        method = method.TrimStart('/');
        if (IsOwnApp(appId))
        {
            if (_options.AppPortNumber is null) throw InvokeError(appId, "app channel not initialized");
            return new Target(new Uri(_options.AppBaseUrl + "/" + method + query), true);
        }
        var address = await registry.ResolveAsync(appId, ct)
            ?? throw InvokeError(appId, registry.Enabled
                ? $"couldn't find service: {appId}"
                : "name resolution is not configured (--name-resolution-sqlite)");
        return new Target(new Uri(address + InternalPrefix + Uri.EscapeDataString(appId) + "/method/" + method + query), false);
    }

    /// <summary>The client for a target: the app's plain one, or for another app's sidecar the mTLS one when mTLS is on.</summary>
    public HttpClient ClientFor(Target target, string appId) =>
        target.Local || security.Identity is null ? http.Client : security.PeerClient(appId);

    /// <summary>
    /// The method as the caller escaped it, from the raw request target. Routing hands it over decoded, and sent on in
    /// that form the next hop would decode it again: "canary%2520" reached the app as "canary%20", then "canary " and,
    /// trimmed, "canary" (another schedule). daprd forwards the path as it came; so do we. Falls back to the decoded
    /// method when the raw target is not a plain path.
    /// </summary>
    internal static string EscapedMethod(HttpContext context, string decodedMethod)
    {
        var raw = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (string.IsNullOrEmpty(raw) || raw[0] != '/') return decodedMethod;
        var path = raw.Split('?', 2)[0];
        // The header form (dapr-app-id on any other path): the whole path is the method.
        if (!path.StartsWith("/v1.0", StringComparison.OrdinalIgnoreCase)) return path.TrimStart('/');
        const string separator = "/method/";
        var at = path.IndexOf(separator, StringComparison.OrdinalIgnoreCase);
        return at < 0 ? decodedMethod : path[(at + separator.Length)..];
    }

    /// <summary>Whether this sidecar presents its API token to other sidecars: only without mTLS, which has nothing else.</summary>
    public bool SendsTokenToPeers => security.Identity is null;

    /// <summary>The internal route delivers to this sidecar's own app only, so it can never relay a call onwards.</summary>
    public bool IsOwnApp(string appId) => string.Equals(appId, _options.AppId, StringComparison.Ordinal) || IsSelfQualified(appId);

    private bool IsSelfQualified(string appId) => string.Equals(appId, _options.AppId + "." + _options.Namespace, StringComparison.Ordinal);

    public static DaprError InvokeError(string appId, string detail) =>
        new(Grpc.Core.StatusCode.Internal, 500, "ERR_DIRECT_INVOKE", $"failed to invoke, id: {appId}, err: {detail}", null);

    /// <summary>
    /// Forwards an incoming HTTP request to the target and copies the answer onto the response;
    /// <paramref name="escapedMethod"/>, when given, is the method as it goes on (already escaped).
    /// </summary>
    public async Task ForwardAsync(HttpContext context, string appId, string method, string? escapedMethod = null)
    {
        Target target;
        try
        {
            target = await ResolveAsync(appId, escapedMethod ?? EscapedMethod(context, method), context.Request.QueryString.Value ?? "", context.RequestAborted);
        }
        catch (DaprError error)
        {
            await error.ToHttpResult().ExecuteAsync(context);
            return;
        }

        using var request = new HttpRequestMessage(new HttpMethod(context.Request.Method), target.Uri);
        var hasBody = context.Request.ContentLength > 0 || context.Request.Headers.TransferEncoding.Count > 0;
        if (hasBody) request.Content = new StreamContent(context.Request.Body);
        foreach (var (name, values) in context.Request.Headers)
        {
            if (HopByHop.Contains(name)) continue;
            if (!request.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values) && request.Content is not null)
                request.Content.Headers.TryAddWithoutValidation(name, (IEnumerable<string?>)values);
        }
        if (target.Local)
        {
            if (!string.IsNullOrEmpty(_options.AppApiToken)) request.Headers.TryAddWithoutValidation("dapr-api-token", _options.AppApiToken);
        }
        else
        {
            request.Headers.TryAddWithoutValidation("dapr-caller-app-id", _options.AppId);
            // With mTLS the certificate authenticates this sidecar; its app's token is never shown to another app's
            // sidecar. Without mTLS the other sidecar has only a token to go by (the same one, or the call is refused).
            if (SendsTokenToPeers && !string.IsNullOrEmpty(_options.ApiToken)) request.Headers.TryAddWithoutValidation("dapr-api-token", _options.ApiToken);
        }
        request.Headers.TryAddWithoutValidation("dapr-callee-app-id", appId);
        if (!context.Request.Headers.ContainsKey("dapr-caller-app-id") && target.Local)
            request.Headers.TryAddWithoutValidation("dapr-caller-app-id", _options.AppId);
        TraceHeaders.Inject(request);

        HttpResponseMessage response;
        try
        {
            response = await ClientFor(target, appId).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, context.RequestAborted);
        }
        catch (HttpRequestException ex)
        {
            LogInvokeFailed(logger, appId, ex.Message);
            await InvokeError(appId, ex.Message).ToHttpResult().ExecuteAsync(context);
            return;
        }
        using (response)
        {
            context.Response.StatusCode = (int)response.StatusCode;
            foreach (var (name, values) in response.Headers.Concat(response.Content.Headers))
            {
                if (name.Equals("Transfer-Encoding", StringComparison.OrdinalIgnoreCase) || name.Equals("Connection", StringComparison.OrdinalIgnoreCase)
                    || name.Equals(SidecarErrorHeader, StringComparison.OrdinalIgnoreCase)) continue;
                context.Response.Headers[name] = new StringValues([.. values]);
            }
            await response.Content.CopyToAsync(context.Response.Body, context.RequestAborted);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Service invocation of {AppId} failed: {Error}")]
    private static partial void LogInvokeFailed(ILogger logger, string appId, string error);
}
