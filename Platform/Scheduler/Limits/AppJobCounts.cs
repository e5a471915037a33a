using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Limits;

/// <summary>
/// Jobs held per (namespace, app id), plus places reserved for writes under way; the engine keeps it in step with
/// its job table under its own lock.
/// </summary>
internal sealed class AppJobCounts
{
    private readonly Dictionary<(string, string), (int Stored, int Reserved)> _apps = [];

    public int Held(JobKey key) => _apps.TryGetValue(App(key), out var c) ? c.Stored + c.Reserved : 0;

    /// <summary>Places reserved for writes under way alone (when the store counts what is stored).</summary>
    public int Reserved(JobKey key) => _apps.TryGetValue(App(key), out var c) ? c.Reserved : 0;

    public void Added(JobKey key) => Change(key, 1, 0);

    public void Removed(JobKey key) => Change(key, -1, 0);

    public void Reserve(JobKey key) => Change(key, 0, 1);

    public void Release(JobKey key) => Change(key, 0, -1);

    private void Change(JobKey key, int stored, int reserved)
    {
        // One lookup per change: loading 1M jobs adds each.
        var app = App(key);
        ref var c = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(_apps, app, out _);
        c = (c.Stored + stored, c.Reserved + reserved);
        if (c is { Stored: <= 0, Reserved: <= 0 }) _apps.Remove(app);
    }

    private static (string, string) App(JobKey key) => (key.Namespace, key.AppId);
}
