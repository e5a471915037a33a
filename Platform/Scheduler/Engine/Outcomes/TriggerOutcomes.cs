using System.Diagnostics;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// What a trigger's answer does to its job: the tick counted, a retry queued under the failure policy, or the job
/// finished; progress handed to the store's batch writer. Runs under the engine's lock.
/// </summary>
internal sealed class TriggerOutcomes(TriggerQueue queue, JobOwnership ownership, IJobStore store, EngineTelemetry telemetry)
{
    /// <summary>Applies the outcome; true when the trigger was not delivered and must go out again (the caller redelivers).</summary>
    public bool Apply(in InFlightTrigger flight, TriggerOutcome outcome)
    {
        var state = flight.Job;
        telemetry.Resolved(outcome);
        if (flight.Activity is { } activity)
        {
            activity.SetTag("scheduler.trigger.outcome", outcome.ToString().ToLowerInvariant());
            if (outcome != TriggerOutcome.Success) activity.SetStatus(ActivityStatusCode.Error, outcome.ToString());
            activity.Stop();
        }
        // Deleted or replaced meanwhile, or a result for an older dispatch: nothing to apply.
        if (state.Removed || state.Quarantine is not null || state.DispatchSeq != flight.DispatchSeq || !state.InFlight) return false;
        state.InFlight = false;

        switch (outcome)
        {
            case TriggerOutcome.Success:
                CompleteTick(state, JobResultKind.Success);
                return false;
            case TriggerOutcome.Failed:
                state.Attempts++;
                state.LastResult = JobResultKind.Failed;
                if (state.Policy.ShouldRetry(state.Attempts))
                {
                    // Retry k is due at tick + k × interval, measured from the tick, not from the failure.
                    store.EnqueueProgress(new ProgressUpdate(state.RowId, state.PartitionId, state.Progress));
                    queue.Enqueue(state, TriggerQueue.FireTime(state.CurrentTick, state.Attempts, state.Policy.IntervalTicks));
                }
                else
                {
                    CompleteTick(state, JobResultKind.Failed);
                }
                return false;
            default:
                return true;
        }
    }

    /// <summary>The consumer could not deliver the trigger because of the job itself: the job is quarantined.</summary>
    public void Reject(in InFlightTrigger flight, Exception reason)
    {
        flight.Activity?.SetStatus(ActivityStatusCode.Error, reason.Message);
        flight.Activity?.Stop();
        var state = flight.Job;
        if (state.Removed || state.DispatchSeq != flight.DispatchSeq || state.Quarantine is not null) return;
        ownership.Quarantine(state, "fire", reason);
    }

    public void Quarantine(JobState state, string stage, Exception error) => ownership.Quarantine(state, stage, error);

    private void CompleteTick(JobState state, JobResultKind result)
    {
        state.Count++;
        state.LastTrigger = state.CurrentTick;
        state.Attempts = 0;
        state.LastResult = result;
        if (!queue.ScheduleNextTick(state, keepAttempts: false)) ownership.Finish(state);
        if (!state.Removed) store.EnqueueProgress(new ProgressUpdate(state.RowId, state.PartitionId, state.Progress));
    }
}
