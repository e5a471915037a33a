using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// The consumers of triggers: every app's open streams, the triggers in flight on each, the take-back of those left
/// unanswered, and the staging of triggers for apps with no stream. The engine's lock guards it: the engine holds it
/// when it calls in, and the consumers take it themselves for what a stream's owner calls (answers, close).
/// </summary>
internal sealed partial class TriggerConsumers(object gate, TriggerQueue queue, TriggerOutcomes outcomes, EngineTelemetry telemetry,
    TimeProvider time, ILogger logger, TimeSpan ackTimeout, IDeferredJobData? storedData = null)
{
    private readonly Dictionary<(string, string), AppStreams> _streams = [];
    private readonly Dictionary<(string, string), List<JobState>> _staged = [];
    private readonly long? _ackTimeoutTicks = ackTimeout == Timeout.InfiniteTimeSpan ? null : ackTimeout.Ticks;
    private long _dispatchSeq;
    private int _count;

    /// <summary>When the in-flight triggers are next looked at for an overdue answer; MaxValue when none is in flight.</summary>
    public long NextAckCheck { get; private set; } = long.MaxValue;

    /// <summary>Open streams; read without the lock.</summary>
    public int Count => Volatile.Read(ref _count);

    /// <summary>Registers a consumer for the app's triggers (under the engine's lock). Staged triggers of that app are released at once.</summary>
    public void Add(Consumer stream)
    {
        var app = (stream.Namespace, stream.AppId);
        if (!_streams.TryGetValue(app, out var list)) _streams[app] = list = new AppStreams();
        list.Streams.Add(stream);
        _count++;
        if (stream.AcceptsJobs && _staged.Remove(app, out var staged))
        {
            var now = time.GetUtcNow().UtcTicks;
            foreach (var job in staged)
            {
                if (job.Removed || !job.Staged || job.Quarantine is not null) continue;
                job.Staged = false;
                queue.Enqueue(job, Math.Min(now, job.FireAt));
            }
            LogReleasedStaged(logger, staged.Count, stream.Namespace, stream.AppId);
        }
    }

    public void Close(Consumer stream)
    {
        List<InFlightTrigger> orphans;
        lock (gate)
        {
            if (stream.Closed) return;
            orphans = stream.Close();
            if (_streams.TryGetValue((stream.Namespace, stream.AppId), out var list))
            {
                list.Streams.Remove(stream);
                if (list.Streams.Count == 0) _streams.Remove((stream.Namespace, stream.AppId));
            }
            _count--;
            foreach (var f in orphans) Resolve(f, TriggerOutcome.Undeliverable);
        }
        LogStreamClosed(logger, stream.Namespace, stream.AppId, orphans.Count);
    }

    public void Answer(Consumer stream, ulong id, TriggerOutcome outcome)
    {
        lock (gate)
        {
            if (!stream.TryTake(id, out var flight))
            {
                LogUnknownResult(logger, id, stream.AppId);
                return;
            }
            Resolve(flight, outcome);
        }
    }

    public void Reject(Consumer stream, ulong id, Exception reason)
    {
        lock (gate)
        {
            if (!stream.TryTake(id, out var flight)) return;
            outcomes.Reject(flight, reason);
        }
    }

    /// <summary>
    /// Sends the job's trigger to the app's next stream, or stages it when the app has none (under the engine's lock).
    /// False, and nothing sent, when the job's data was left in the store and the store no longer holds the definition
    /// being fired: it was overwritten or deleted, and the caller forgets it as that change will.
    /// </summary>
    public bool Dispatch(JobState state, long now)
    {
        var app = (state.Key.Namespace, state.Key.AppId);
        var stream = _streams.TryGetValue(app, out var streams) ? streams.Next() : null;
        if (stream is null)
        {
            Stage(state);
            return true;
        }
        var data = state.Data;
        if (state.DataInStore)
        {
            var store = storedData ?? throw new InvalidOperationException("the job's data was left in a store that cannot read it back");
            if (!store.TryReadData(state.RowId, state.PartitionId, out data)) return false;
        }

        state.InFlight = true;
        state.DispatchSeq = ++_dispatchSeq;
        var id = stream.NextId();
        var activity = telemetry.StartTrigger(state);
        stream.AddInFlight(id, new InFlightTrigger(state, state.DispatchSeq, activity, now));
        if (NextAckCheck == long.MaxValue && _ackTimeoutTicks is { } timeout) NextAckCheck = SaturatingAdd(now, timeout);
        stream.Send(new JobTrigger
        {
            Id = id,
            Key = state.Key,
            Data = data,
            ScheduledTime = new DateTimeOffset(state.CurrentTick, TimeSpan.Zero),
            DueTime = new DateTimeOffset(state.FireAt, TimeSpan.Zero),
            Attempt = state.Attempts,
            TraceParent = activity?.Id,
            TraceState = activity?.TraceStateString,
        });
        telemetry.Sent(now - state.FireAt);
        return true;
    }

    internal static long SaturatingAdd(long a, long b) => a > long.MaxValue - b ? long.MaxValue - 1 : a + b;

    /// <summary>
    /// Resolves every trigger unanswered for the ack timeout as undeliverable: not counted, no failure policy, sent again
    /// (to the app's next stream, or staged). A late answer to it is then ignored as unknown. The in-flight tables are
    /// walked at most about eight times per timeout, so a trigger is taken back within 1⅛ timeouts of being sent.
    /// </summary>
    public void TakeBackUnanswered(long now)
    {
        if (_ackTimeoutTicks is not { } timeout)
        {
            NextAckCheck = long.MaxValue;
            return;
        }
        var next = long.MaxValue;
        List<(Consumer Stream, ulong Id)>? overdue = null;
        foreach (var app in _streams.Values)
            foreach (var stream in app.Streams)
                next = Math.Min(next, stream.FindOverdue(now, timeout, ref overdue));
        foreach (var (stream, id) in overdue ?? [])
        {
            if (!stream.TryTake(id, out var flight)) continue;
            telemetry.AckTimedOut();
            LogUnanswered(logger, flight.Job.Key.ToString(), id, stream.AppId, TimeSpan.FromTicks(timeout).TotalSeconds);
            Resolve(flight, TriggerOutcome.Undeliverable);
        }
        NextAckCheck = next == long.MaxValue ? long.MaxValue : Math.Max(next, SaturatingAdd(now, Math.Max(1, timeout / 8)));
    }

    /// <summary>Holds the job's trigger until a stream of its app opens.</summary>
    public void Stage(JobState state)
    {
        state.Staged = true;
        var app = (state.Key.Namespace, state.Key.AppId);
        if (!_staged.TryGetValue(app, out var list)) _staged[app] = list = [];
        list.Add(state);
    }

    /// <summary>Forgets every staged trigger (the jobs were dropped).</summary>
    public void ClearStaged() => _staged.Clear();

    /// <summary>Ends every stream's channel (the engine is stopping).</summary>
    public void CompleteAll()
    {
        foreach (var app in _streams.Values)
            foreach (var s in app.Streams) s.Complete();
    }

    /// <summary>Applies a trigger's outcome; a job whose outcome cannot be applied is quarantined, never thrown.</summary>
    private void Resolve(in InFlightTrigger flight, TriggerOutcome outcome)
    {
        try
        {
            if (!outcomes.Apply(flight, outcome)) return;
            // Not counted, no failure policy: wait for a consumer (or go to another stream of the app now).
            var state = flight.Job;
            if (_streams.ContainsKey((state.Key.Namespace, state.Key.AppId))) queue.Enqueue(state, state.FireAt);
            else Stage(state);
        }
        catch (Exception e)
        {
            if (!flight.Job.Removed) outcomes.Quarantine(flight.Job, "fire", e);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Trigger stream closed for {Namespace}/{AppId}; {InFlight} triggers in flight become undeliverable")]
    private static partial void LogStreamClosed(ILogger logger, string @namespace, string appId, int inFlight);

    [LoggerMessage(Level = LogLevel.Information, Message = "Released {Count} staged jobs for {Namespace}/{AppId}")]
    private static partial void LogReleasedStaged(ILogger logger, int count, string @namespace, string appId);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignoring result for unknown trigger id {Id} from {AppId}")]
    private static partial void LogUnknownResult(ILogger logger, ulong id, string appId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Trigger {TriggerId} of job {Key} got no answer from {AppId} within {Seconds} s; redelivering it")]
    private static partial void LogUnanswered(ILogger logger, string key, ulong triggerId, string appId, double seconds);
}
