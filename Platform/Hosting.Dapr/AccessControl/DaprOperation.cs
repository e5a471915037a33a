namespace Platform.Hosting.Dapr;

/// <summary>
/// One operation a caller may invoke, as a Dapr Configuration names it: a method path (Dapr's wildcards: a last
/// segment <c>*</c> is any one segment, <c>**</c> anything below) and the HTTP verbs allowed on it.
/// </summary>
public sealed record DaprOperation(string Name, params string[] HttpVerbs);
