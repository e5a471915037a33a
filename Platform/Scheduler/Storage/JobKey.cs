namespace Platform.Scheduler.Storage;

/// <summary>A job's identity: (namespace, app id, name). Renders as Dapr's internal key.</summary>
public readonly record struct JobKey(string Namespace, string AppId, string Name)
{
    public override string ToString() => $"app||{Namespace}||{AppId}||{Name}";
}
