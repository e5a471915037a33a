using Aspire.Hosting.ApplicationModel;

namespace Platform.Hosting.Dapr;

/// <summary>
/// One job held by the scheduler, a child of the scheduler resource. Jobs come and go while the application runs, so
/// each is added to the model when it is first found (that is what the Aspire CLI lists and runs commands on) and
/// hidden, not removed, when the scheduler no longer holds it.
/// </summary>
public sealed class DaprJobResource(string name, string jobName, string appId, string @namespace) : Resource(name)
{
    public const string ResourceTypeName = "DaprJob";

    /// <summary>The dashboard's Delete: confirmed in the dashboard's own dialog.</summary>
    public const string DeleteCommandName = "delete-job";

    /// <summary>Delete for the Aspire CLI and other API callers: confirmed through its <see cref="ConfirmArgument"/>.</summary>
    public const string ApiDeleteCommandName = "delete";

    /// <summary>The API delete's one argument; it must be <c>true</c>, as the dashboard's dialog must be answered Yes.</summary>
    public const string ConfirmArgument = "confirm";

    /// <summary>The job's name in the scheduler (the resource's own name differs only when that name was taken).</summary>
    public string JobName { get; } = jobName;

    public string AppId { get; } = appId;

    public string Namespace { get; } = @namespace;

    /// <summary>The job's key, unique across app ids and namespaces, as the scheduler keys jobs.</summary>
    public static string IdFor(string @namespace, string appId, string name) => $"job-{@namespace}-{appId}-{name}";
}
