namespace Platform.Scheduler.Engine;

/// <summary>
/// Callers of <see cref="SchedulerEngine.WhenIdleAsync"/>, each waiting for the dispatch loop to go idle after a given
/// pass. Kept out of the loop so that, while nobody waits, a pass pays one volatile read for it.
/// The engine guards every member with its gate except <see cref="HasWaiters"/>, which the loop reads without it.
/// </summary>
internal sealed class IdleWaiters
{
    private readonly List<(long Pass, TaskCompletionSource Done)> _waiters = [];
    private int _count;
    private Exception? _ended;

    /// <summary>Lock-free hint for the loop; a stale false is harmless because a new waiter also wakes the loop.</summary>
    public bool HasWaiters => Volatile.Read(ref _count) > 0;

    /// <summary>A task that completes once a pass numbered at least <paramref name="pass"/> has ended idle.</summary>
    public Task Add(long pass)
    {
        if (_ended is not null) return Task.FromException(_ended);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _waiters.Add((pass, done));
        Volatile.Write(ref _count, _waiters.Count);
        return done.Task;
    }

    /// <summary>Pass <paramref name="pass"/> ended with nothing left due: release everyone who waited for it or an earlier one.</summary>
    public void Release(long pass)
    {
        for (var i = _waiters.Count - 1; i >= 0; i--)
        {
            if (_waiters[i].Pass > pass) continue;
            _waiters[i].Done.TrySetResult();
            _waiters.RemoveAt(i);
        }
        Volatile.Write(ref _count, _waiters.Count);
    }

    /// <summary>The loop is gone: it will never be idle again, so fail current and future waiters rather than hang them.</summary>
    public void End(Exception reason)
    {
        _ended = reason;
        foreach (var (_, done) in _waiters) done.TrySetException(reason);
        _waiters.Clear();
        Volatile.Write(ref _count, 0);
    }
}
