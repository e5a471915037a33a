using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Engine;

/// <summary>
/// The trigger queue: every owned job's next fire time in a priority queue, the timer that wakes the dispatch loop for
/// the earliest, and the computation of a job's next tick. The engine's lock guards it, except <see cref="Wake"/> and
/// <see cref="WaitAsync"/>, which the timer and the loop call without it.
/// </summary>
internal sealed class TriggerQueue : IDisposable
{
    private readonly PriorityQueue<(JobState Job, int Token), long> _queue = new();
    private readonly SemaphoreSlim _wake = new(0);
    private ITimer? _timer;

    /// <summary>The fire time the loop will wake for; an earlier entry wakes it. MinValue: it passes again at once.</summary>
    public long ArmedFor { get; set; } = long.MaxValue;

    /// <summary>Latest instant the engine can represent; later fire times wait there (i.e. never come).</summary>
    public static readonly long LastInstant = DateTimeOffset.MaxValue.UtcTicks;

    /// <summary>Longest single timer wait; well below the system timer's limit of 4294967294 ms.</summary>
    public static readonly TimeSpan MaxTimerStep = TimeSpan.FromDays(1);

    public void StartTimer(TimeProvider time) =>
        _timer = time.CreateTimer(static s => ((TriggerQueue)s!).Wake(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);

    /// <summary>The earliest queued fire time (stale entries included), or MaxValue when the queue is empty.</summary>
    public long NextDue => _queue.TryPeek(out _, out var due) ? due : long.MaxValue;

    /// <summary>Computes the job's next tick and queues it; false (nothing queued) when it has none and is done.</summary>
    public bool ScheduleNextTick(JobState state, bool keepAttempts)
    {
        var tick = state.NextTick();
        if (tick == TickCalculator.None)
        {
            state.CurrentTick = TickCalculator.None;
            return false;
        }
        state.CurrentTick = tick;
        if (!keepAttempts) state.Attempts = 0;
        Enqueue(state, FireTime(tick, state.Attempts, state.Policy.IntervalTicks));
        return true;
    }

    /// <summary>tick + attempts × interval, saturated at <see cref="LastInstant"/> rather than overflowing into the past.</summary>
    public static long FireTime(long tick, uint attempts, long intervalTicks)
    {
        if (attempts == 0 || intervalTicks <= 0) return Math.Min(tick, LastInstant);
        var room = LastInstant - tick;
        return room / attempts < intervalTicks ? LastInstant : tick + attempts * intervalTicks;
    }

    public void Enqueue(JobState state, long fireAt)
    {
        fireAt = Math.Min(fireAt, LastInstant);
        state.FireAt = fireAt;
        state.QueueToken++;
        _queue.Enqueue((state, state.QueueToken), fireAt);
        if (fireAt < ArmedFor)
        {
            ArmedFor = fireAt;
            Wake();
        }
    }

    /// <summary>
    /// Takes the earliest job due by <paramref name="now"/>, dropping entries made stale on the way (re-queued, removed,
    /// in flight or staged since); false when nothing is due.
    /// </summary>
    public bool TryTakeDue(long now, out JobState job)
    {
        while (_queue.TryPeek(out var entry, out var due))
        {
            if (entry.Token != entry.Job.QueueToken || entry.Job.Removed || entry.Job.InFlight || entry.Job.Staged)
            {
                _queue.Dequeue();
                continue;
            }
            if (due > now) break;
            _queue.Dequeue();
            job = entry.Job;
            return true;
        }
        job = null!;
        return false;
    }

    public void Clear() => _queue.Clear();

    /// <summary>Sizes the queue once for <paramref name="entries"/>, rather than by doubling as jobs load.</summary>
    public void EnsureCapacity(int entries) => _queue.EnsureCapacity(entries);

    /// <summary>Arms the timer for <paramref name="nextDue"/> (MaxValue: no timer).</summary>
    public void ArmTimer(long nextDue, long now) =>
        _timer!.Change(nextDue == long.MaxValue ? Timeout.InfiniteTimeSpan : TimerDelay(nextDue - now), Timeout.InfiniteTimeSpan);

    public void ArmTimer(TimeSpan delay) => _timer!.Change(delay, Timeout.InfiniteTimeSpan);

    public void Wake()
    {
        if (_wake.CurrentCount == 0) _wake.Release();
    }

    public Task WaitAsync(CancellationToken cancellationToken) => _wake.WaitAsync(cancellationToken);

    /// <summary>
    /// The wait until the next due time, rounded UP to a whole millisecond: system timers truncate to milliseconds,
    /// so a sub-millisecond wait would fire at once, find nothing due and re-arm, spinning a core until the tick.
    /// </summary>
    /// <remarks>
    /// A system timer takes at most 4294967294 ms (~49.7 days) and throws beyond it, so a longer wait is taken in
    /// steps of at most <see cref="MaxTimerStep"/>: the loop wakes, finds nothing due and arms the next step.
    /// </remarks>
    public static TimeSpan TimerDelay(long ticksUntilDue) =>
        ticksUntilDue <= 0 ? TimeSpan.Zero
        : ticksUntilDue >= MaxTimerStep.Ticks ? MaxTimerStep
        : TimeSpan.FromMilliseconds(Math.Ceiling((double)ticksUntilDue / TimeSpan.TicksPerMillisecond));

    public void Dispose() => _timer?.Dispose();
}
