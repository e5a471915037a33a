namespace Platform.Scheduler.Engine;

/// <summary>
/// The one loop that sends triggers: it waits on the queue's timer for the earliest due time, takes what is due (a
/// batch per pass, so the engine's lock is never held for long), hands each to a consumer of its app and arms the timer
/// for the next. A fault in one job quarantines that job; a fault outside any job is logged and the pass tried again.
/// </summary>
internal sealed partial class DispatchLoop(object gate, TriggerQueue queue, TriggerConsumers consumers, JobOwnership ownership,
    SchedulerEngineOptions options, TimeProvider time, ILogger logger)
{
    /// <summary>How long the loop waits before another pass after a pass failed outside any one job.</summary>
    internal static readonly TimeSpan PassRetryDelay = TimeSpan.FromSeconds(1);

    /// <summary>Passes begun; numbers the passes <see cref="_idleWaiters"/> wait for. Guarded by the engine's lock.</summary>
    private long _passes;
    private readonly IdleWaiters _idleWaiters = new();
    /// <summary>Test seam: set, the loop ends with this error at its next pass (see <see cref="Fail"/>).</summary>
    private Exception? _injectedFault;
    private Task? _task;

    /// <summary>The loop's task (completed before start).</summary>
    public Task Task => _task ?? Task.CompletedTask;

    /// <summary>True once started and until it ends, by stopping or by an error.</summary>
    public bool IsRunning => _task is { IsCompleted: false };

    public void Start(CancellationToken stopping) => _task = Task.Run(() => RunAsync(stopping), CancellationToken.None);

    /// <summary>See <see cref="SchedulerEngine.WhenIdleAsync"/>.</summary>
    public Task WhenIdleAsync(CancellationToken cancellationToken)
    {
        Task idle;
        lock (gate) idle = _idleWaiters.Add(_passes + 1);
        // Force that pass: with nothing due the loop would otherwise sleep until the next tick.
        queue.Wake();
        return idle.WaitAsync(cancellationToken);
    }

    /// <summary>Test seam: ends the loop with <paramref name="reason"/> at its next pass, as an unrecoverable fault would.</summary>
    public void Fail(Exception reason)
    {
        Volatile.Write(ref _injectedFault, reason);
        queue.Wake();
    }

    private async Task RunAsync(CancellationToken token)
    {
        try
        {
            await PassesAsync(token);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
        catch (Exception e)
        {
            LogLoopFailed(logger, e);
            lock (gate) _idleWaiters.End(new InvalidOperationException("The dispatch loop failed.", e));
            throw;
        }
        lock (gate) _idleWaiters.End(new ObjectDisposedException(nameof(SchedulerEngine), "The dispatch loop has stopped."));
    }

    private async Task PassesAsync(CancellationToken token)
    {
        while (!token.IsCancellationRequested)
        {
            if (Volatile.Read(ref _injectedFault) is { } fault) throw fault;
            long pass;
            try
            {
                long nextDue;
                long now;
                var dispatched = 0;
                lock (gate)
                {
                    pass = ++_passes;
                    now = time.GetUtcNow().UtcTicks;
                    // Unanswered triggers are taken back first, so that this pass already redelivers them.
                    if (now >= consumers.NextAckCheck) consumers.TakeBackUnanswered(now);
                    while (dispatched < options.DispatchBatch && queue.TryTakeDue(now, out var job))
                    {
                        // One job's failure is that job's alone: set it aside and go on with the others.
                        try
                        {
                            if (!consumers.Dispatch(job, now)) ownership.ForgetReplaced(job);
                        }
                        catch (Exception e) { ownership.Quarantine(job, "dispatch", e); }
                        dispatched++;
                    }
                    nextDue = Math.Min(queue.NextDue, consumers.NextAckCheck);
                    queue.ArmedFor = dispatched >= options.DispatchBatch ? long.MinValue : nextDue;
                }
                LogPass(logger, dispatched, nextDue == long.MaxValue ? -1 : TimeSpan.FromTicks(nextDue - now).TotalMilliseconds);
                if (dispatched >= options.DispatchBatch)
                {
                    await Task.Yield();
                    continue;
                }
                queue.ArmTimer(nextDue, now);
                // The clock may have passed the due time while the timer was being armed (a timer is relative).
                if (nextDue != long.MaxValue && time.GetUtcNow().UtcTicks >= nextDue) continue;
            }
            catch (Exception e) when (e is not OperationCanceledException || !token.IsCancellationRequested)
            {
                // A fault outside any one job: dispatching must not end, so log it and try again shortly.
                LogPassFailed(logger, e);
                lock (gate) queue.ArmedFor = long.MinValue;
                try { queue.ArmTimer(PassRetryDelay); }
                catch (Exception timerError) { LogPassFailed(logger, timerError); }
                await queue.WaitAsync(token).ConfigureAwait(false);
                continue;
            }
            if (_idleWaiters.HasWaiters)
            {
                lock (gate) _idleWaiters.Release(pass);
            }
            await queue.WaitAsync(token).ConfigureAwait(false);
        }
    }

    [LoggerMessage(Level = LogLevel.Trace, Message = "Dispatch pass: {Dispatched} sent, next due in {Milliseconds} ms")]
    private static partial void LogPass(ILogger logger, int dispatched, double milliseconds);

    [LoggerMessage(Level = LogLevel.Critical, Message = "The dispatch loop failed; no more triggers will be sent")]
    private static partial void LogLoopFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "A dispatch pass failed; retrying shortly")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
