using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Platform.Scheduler.Engine;

/// <summary>The engine's meter and instruments, and the span each trigger gets (source <see cref="SchedulerEngine.TelemetryName"/>).</summary>
internal sealed class EngineTelemetry : IDisposable
{
    private readonly Counter<long> _triggersSent;
    private readonly Counter<long> _results;
    private readonly Histogram<double> _lateness;
    private readonly Counter<long> _ackTimeouts;

    public EngineTelemetry(Func<int> jobCount, Func<int> connectedStreams)
    {
        Meter = new Meter(SchedulerEngine.TelemetryName);
        Meter.CreateObservableGauge("scheduler.jobs.stored", jobCount, "{job}", "Jobs held by this replica's engine");
        Meter.CreateObservableGauge("scheduler.sidecars.connected", connectedStreams, "{stream}", "Connected trigger streams");
        _triggersSent = Meter.CreateCounter<long>("scheduler.triggers.sent", "{trigger}", "Triggers sent to a stream");
        _results = Meter.CreateCounter<long>("scheduler.trigger.results", "{trigger}", "Trigger results by outcome");
        _lateness = Meter.CreateHistogram<double>("scheduler.trigger.lateness", "ms", "Send time minus due time");
        _ackTimeouts = Meter.CreateCounter<long>("scheduler.trigger.ack_timeouts", "{trigger}", "Triggers taken back for redelivery after no answer within the ack timeout");
    }

    public Meter Meter { get; }

    /// <summary>A trigger went out <paramref name="lateTicks"/> after it was due.</summary>
    public void Sent(long lateTicks)
    {
        _triggersSent.Add(1);
        _lateness.Record(TimeSpan.FromTicks(Math.Max(0, lateTicks)).TotalMilliseconds);
    }

    public void Resolved(TriggerOutcome outcome) =>
        _results.Add(1, new KeyValuePair<string, object?>("outcome", outcome switch
        {
            TriggerOutcome.Success => "success",
            TriggerOutcome.Failed => "failed",
            _ => "undeliverable",
        }));

    public void AckTimedOut() => _ackTimeouts.Add(1);

    /// <summary>The span of one trigger, linked to the trace that scheduled the job; null when nobody listens.</summary>
    public Activity? StartTrigger(JobState state)
    {
        if (!SchedulerEngine.ActivitySource.HasListeners()) return null;
        ActivityLink[]? links = null;
        if (state.TraceParent is not null && ActivityContext.TryParse(state.TraceParent, state.TraceState, out var scheduledBy))
            links = [new ActivityLink(scheduledBy)];
        var previous = Activity.Current;
        Activity.Current = null;
        var activity = SchedulerEngine.ActivitySource.StartActivity(ActivityKind.Producer, default(ActivityContext),
            links: links, name: "scheduler.trigger " + state.Key.Name);
        Activity.Current = previous;
        if (activity is not null)
        {
            activity.SetTag("scheduler.job.name", state.Key.Name);
            activity.SetTag("scheduler.job.namespace", state.Key.Namespace);
            activity.SetTag("scheduler.job.app_id", state.Key.AppId);
            activity.SetTag("scheduler.job.scheduled_time", new DateTimeOffset(state.CurrentTick, TimeSpan.Zero).ToString("O"));
            activity.SetTag("scheduler.job.attempt", state.Attempts);
        }
        return activity;
    }

    public void Dispose() => Meter.Dispose();
}
