using Microsoft.Extensions.Time.Testing;

namespace Platform.Sentry.Tests;

/// <summary>
/// A fake clock that tells when a timer has been created on it. A background service (since .NET 10 its whole
/// <c>ExecuteAsync</c> runs on its own task) reads the clock and then creates its timer; a test that advances the clock
/// between the two sets that timer off from the advanced time, and it never fires. Waiting for the timer first closes
/// that gap.
/// </summary>
public sealed class TimerCountingTimeProvider(DateTimeOffset start) : FakeTimeProvider(start)
{
    private readonly object _gate = new();
    private readonly List<(int Count, TaskCompletionSource Done)> _waiters = [];
    private int _created;

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = base.CreateTimer(callback, state, dueTime, period);
        lock (_gate)
        {
            _created++;
            foreach (var waiter in _waiters.Where(w => w.Count <= _created)) waiter.Done.TrySetResult();
            _waiters.RemoveAll(w => w.Count <= _created);
        }
        return timer;
    }

    /// <summary>How many timers have been created so far.</summary>
    public int TimersCreated { get { lock (_gate) return _created; } }

    /// <summary>Completes once <paramref name="count"/> timers in all have been created.</summary>
    public Task TimersCreatedAsync(int count)
    {
        lock (_gate)
        {
            if (_created >= count) return Task.CompletedTask;
            var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiters.Add((count, done));
            return done.Task;
        }
    }
}
