using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Limits;

/// <summary>
/// What writes under way will add to the store (jobs, bytes of data), per app and in all, until each has been applied
/// and so counted by <see cref="StoreUsage"/>. The engine keeps it under its own lock.
/// </summary>
internal sealed class StoreReservations
{
    private readonly Dictionary<(string, string), (int Count, long Bytes)> _apps = [];

    public sealed record Reservation(JobKey Key, int Count, long Bytes);

    public (int Count, long Bytes) Total { get; private set; }

    public (int Count, long Bytes) App(JobKey key) => _apps.GetValueOrDefault((key.Namespace, key.AppId));

    public void Add(Reservation r) => Change(r, 1);

    public void Release(Reservation r) => Change(r, -1);

    private void Change(Reservation r, int sign)
    {
        var app = (r.Key.Namespace, r.Key.AppId);
        var c = _apps.GetValueOrDefault(app);
        c = (c.Count + sign * r.Count, c.Bytes + sign * r.Bytes);
        if (c is { Count: <= 0, Bytes: <= 0 }) _apps.Remove(app);
        else _apps[app] = c;
        Total = (Total.Count + sign * r.Count, Total.Bytes + sign * r.Bytes);
    }
}
