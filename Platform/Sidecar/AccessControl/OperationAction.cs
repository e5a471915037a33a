namespace Platform.Sidecar.AccessControl;

/// <summary>An operation rule as stored for lookup: the action per HTTP verb, and the action for calls with no verb (gRPC apps).</summary>
public sealed record OperationAction(string Name, IReadOnlyDictionary<string, string> VerbActions, string Action);
