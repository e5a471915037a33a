using Platform.Security;

namespace Platform.Sidecar.AccessControl;

/// <summary>
/// A parsed <c>spec.accessControl</c>, evaluated as daprd evaluates it for a call arriving from another sidecar:
/// the caller is the SPIFFE id its certificate proves; with no id, or no policy for its app id and namespace, or a
/// policy of another trust domain, the global <c>defaultAction</c> applies; otherwise the policy's
/// <c>defaultAction</c> (when set), overridden by the first operation rule matching the method and then by that
/// rule's action for the call's HTTP verb (or for <c>*</c>). For an HTTP app names compare case-insensitively; a call
/// with no verb takes the policy's default action, and a gRPC app ignores verbs and takes the rule's action.
/// </summary>
public sealed class AccessControlList
{
    public const string Allow = "allow";
    public const string Deny = "deny";

    private readonly Dictionary<string, Policy> _policies;
    private readonly bool _isHttp;

    private AccessControlList(string defaultAction, string trustDomain, Dictionary<string, Policy> policies, bool isHttp)
    {
        DefaultAction = defaultAction;
        TrustDomain = trustDomain;
        _policies = policies;
        _isHttp = isHttp;
    }

    public string DefaultAction { get; }
    public string TrustDomain { get; }
    /// <summary>True when no global default was given and policies exist (or the key is absent): daprd then denies.</summary>
    public bool DefaultedToDeny { get; private init; }

    private sealed record Policy(string AppId, string Namespace, string TrustDomain, string DefaultAction, OperationTrie Operations);

    /// <summary>Null when the spec sets nothing (no access control: every call is allowed, as in daprd).</summary>
    public static AccessControlList? Parse(AccessControlSpec? spec, bool isHttp)
    {
        if (spec is null || (string.IsNullOrEmpty(spec.TrustDomain) && string.IsNullOrEmpty(spec.DefaultAction) && spec.Policies is not { Count: > 0 }))
            return null;
        var defaultedToDeny = false;
        var defaultAction = (spec.DefaultAction ?? "").ToLowerInvariant();
        if (defaultAction.Length == 0)
        {
            // Policies but no global default: the safer choice, deny; an explicitly empty list: allow.
            defaultedToDeny = spec.Policies is null || spec.Policies.Count > 0;
            defaultAction = defaultedToDeny ? Deny : Allow;
        }
        var missingTrustDomain = new List<string>();
        var missingNamespace = new List<string>();
        var missingAppId = false;
        var policies = new Dictionary<string, Policy>(StringComparer.Ordinal);
        foreach (var p in spec.Policies ?? [])
        {
            var invalid = false;
            if (string.IsNullOrEmpty(p.AppId)) missingAppId = true;
            if (string.IsNullOrEmpty(p.TrustDomain)) { missingTrustDomain.Add(p.AppId ?? ""); invalid = true; }
            if (string.IsNullOrEmpty(p.Namespace)) { missingNamespace.Add(p.AppId ?? ""); invalid = true; }
            if (invalid || missingAppId) continue;
            var operations = new OperationTrie();
            foreach (var o in p.Operations ?? [])
            {
                var name = o.Name ?? "";
                if (!name.StartsWith('/')) name = "/" + name;
                if (isHttp) name = name.ToLowerInvariant();
                var verbs = new Dictionary<string, string>(StringComparer.Ordinal);
                foreach (var verb in o.HttpVerb ?? []) verbs[verb] = o.Action ?? "";
                operations.Put(name, new OperationAction(name, verbs, o.Action ?? ""));
            }
            policies[Key(p.AppId!, p.Namespace!)] = new Policy(p.AppId!, p.Namespace!, p.TrustDomain!, p.DefaultAction ?? "", operations);
        }
        if (missingTrustDomain.Count > 0 || missingNamespace.Count > 0 || missingAppId)
            throw new AccessControlConfigException(
                $"invalid access control spec. missing trustdomain for apps: [{string.Join(' ', missingTrustDomain)}], missing namespace for apps: [{string.Join(' ', missingNamespace)}], missing app name on at least one of the app policies: {(missingAppId ? "true" : "false")}");
        return new AccessControlList(defaultAction, string.IsNullOrEmpty(spec.TrustDomain) ? SpiffeId.DefaultTrustDomain : spec.TrustDomain, policies, isHttp)
        {
            DefaultedToDeny = defaultedToDeny,
        };
    }

    /// <summary>Whether <paramref name="caller"/> may call <paramref name="operation"/> (normalized) with <paramref name="verb"/> (null: none).</summary>
    public bool IsAllowed(SpiffeId? caller, string operation, string? verb)
    {
        var action = DefaultAction;
        if (caller is null || !_policies.TryGetValue(Key(caller.AppId, caller.Namespace), out var policy)) return IsAllow(action);
        if (policy.TrustDomain != caller.TrustDomain || policy.Namespace != caller.Namespace) return IsAllow(action);
        if (policy.DefaultAction.Length > 0) action = policy.DefaultAction;
        if (!operation.StartsWith('/')) operation = "/" + operation;
        if (_isHttp) operation = operation.ToLowerInvariant();
        if (policy.Operations.Search(operation) is { } rule)
        {
            if (!_isHttp) action = rule.Action;
            else if (verb is null) action = policy.DefaultAction;
            else if (rule.VerbActions.TryGetValue(verb, out var forVerb)) action = forVerb;
            else if (rule.VerbActions.TryGetValue("*", out var forAny)) action = forAny;
        }
        return IsAllow(action);
    }

    /// <summary>daprd's message for a refused call.</summary>
    public static string DeniedMessage(SpiffeId? caller, string operation, string? verb) =>
        $"access control policy has denied access to id: {caller} operation: {operation} verb: {verb ?? "NONE"}";

    private static bool IsAllow(string action) => string.Equals(action, Allow, StringComparison.OrdinalIgnoreCase);

    private static string Key(string appId, string @namespace) => appId + "||" + @namespace;
}
