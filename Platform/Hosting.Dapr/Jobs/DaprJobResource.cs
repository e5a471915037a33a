using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>
/// One job held by the scheduler, shown in the dashboard as a child of the scheduler resource. Jobs come and go while
/// the application runs, so they are published to the dashboard as they are found rather than added to the model.
/// </summary>
public sealed class DaprJobResource(string name, string appId, string @namespace) : Resource(name)
{
    public const string ResourceTypeName = "DaprJob";
    public const string DeleteCommandName = "delete-job";

    public string AppId { get; } = appId;

    public string Namespace { get; } = @namespace;

    /// <summary>The id the dashboard knows a job by: unique across app ids and namespaces, as the scheduler keys jobs.</summary>
    public static string IdFor(string @namespace, string appId, string name) => $"job-{@namespace}-{appId}-{name}";
}
