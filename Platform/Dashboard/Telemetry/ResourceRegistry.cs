namespace Platform.Dashboard.Telemetry;

/// <summary>
/// The resources that sent telemetry. Bounded: past the limit the longest-known resource is forgotten here
/// (items already stored keep their own reference, so nothing they show is lost).
/// </summary>
public sealed class ResourceRegistry(int capacity)
{
    private readonly object _gate = new();
    private readonly Dictionary<(string Name, string Instance), TelemetryResource> _byKey = [];
    private readonly Queue<(string, string)> _order = new();

    public TelemetryResource GetOrAdd(string serviceName, string instanceId, Func<IReadOnlyList<KeyValuePair<string, string>>> attributes)
    {
        lock (_gate)
        {
            if (_byKey.TryGetValue((serviceName, instanceId), out var known)) return known;
            var created = new TelemetryResource(serviceName, instanceId, attributes());
            _byKey[(serviceName, instanceId)] = created;
            _order.Enqueue((serviceName, instanceId));
            while (_order.Count > Math.Max(1, capacity)) _byKey.Remove(_order.Dequeue());
            return created;
        }
    }

    public IReadOnlyList<TelemetryResource> All()
    {
        lock (_gate) return [.. _byKey.Values.OrderBy(r => r.ServiceName, StringComparer.Ordinal).ThenBy(r => r.InstanceId, StringComparer.Ordinal)];
    }

    /// <summary>Name shown in the UI: the service name, plus the instance id when one service has several instances.</summary>
    public string DisplayName(TelemetryResource resource)
    {
        lock (_gate)
        {
            var instances = _byKey.Keys.Count(k => k.Name == resource.ServiceName);
            return instances > 1 && resource.InstanceId.Length > 0
                ? $"{resource.ServiceName}-{resource.InstanceId[..Math.Min(8, resource.InstanceId.Length)]}"
                : resource.ServiceName;
        }
    }
}
