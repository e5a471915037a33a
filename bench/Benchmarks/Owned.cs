namespace Benchmarks;

/// <summary>Ends several owned processes (or other resources) together: one that fails to end does not keep the rest running.</summary>
public static class Owned
{
    public static async ValueTask DisposeAllAsync(params IAsyncDisposable?[] owned)
    {
        List<Exception>? errors = null;
        foreach (var o in owned)
        {
            if (o is null) continue;
            try { await o.DisposeAsync(); }
            catch (Exception e) { (errors ??= []).Add(e); }
        }
        if (errors is not null) throw new AggregateException("ending owned processes failed", errors);
    }
}
