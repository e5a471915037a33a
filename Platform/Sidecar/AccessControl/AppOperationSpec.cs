namespace Platform.Sidecar.AccessControl;

/// <summary>One operation rule: <c>name</c> (a path, <c>*</c> and <c>**</c> wildcards), <c>httpVerb</c> list and <c>action</c>.</summary>
public sealed class AppOperationSpec
{
    public string? Name { get; set; }
    public List<string>? HttpVerb { get; set; }
    public string? Action { get; set; }
}
