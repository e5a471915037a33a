using Aspire.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Platform.Hosting.Dapr;

/// <summary>
/// Who may invoke whom in the run, per callee app id: everything not listed is denied. The AppHost writes it as one
/// Dapr Configuration per app id (see <see cref="DaprConfigurationFile"/>), given to that app's sidecars with --config.
/// </summary>
internal sealed class DaprAccessControl
{
    private readonly Dictionary<string, Dictionary<string, List<DaprOperation>>> _allowed = new(StringComparer.Ordinal);
    private readonly Lock _gate = new();

    public static DaprAccessControl Of(IDistributedApplicationBuilder builder)
    {
        if (builder.Services.FirstOrDefault(d => d.ServiceType == typeof(DaprAccessControl))?.ImplementationInstance is DaprAccessControl existing)
            return existing;
        var created = new DaprAccessControl();
        builder.Services.AddSingleton(created);
        return created;
    }

    public void Allow(string calleeAppId, string callerAppId, IEnumerable<DaprOperation> operations)
    {
        lock (_gate)
        {
            if (!_allowed.TryGetValue(calleeAppId, out var callers)) _allowed[calleeAppId] = callers = new(StringComparer.Ordinal);
            if (!callers.TryGetValue(callerAppId, out var list)) callers[callerAppId] = list = [];
            list.AddRange(operations);
        }
    }

    /// <summary>The callers of <paramref name="calleeAppId"/> and what each may call, ordered for a stable file.</summary>
    public IReadOnlyList<(string Caller, IReadOnlyList<DaprOperation> Operations)> CallersOf(string calleeAppId)
    {
        lock (_gate)
        {
            return _allowed.TryGetValue(calleeAppId, out var callers)
                ? [.. callers.OrderBy(c => c.Key, StringComparer.Ordinal).Select(c => (c.Key, (IReadOnlyList<DaprOperation>)[.. c.Value]))]
                : [];
        }
    }
}
