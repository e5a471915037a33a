using System.Diagnostics;
using System.Threading.Channels;

namespace Platform.Scheduler.Engine;

/// <summary>
/// One consumer of triggers for a (namespace, app id) — a sidecar's WatchJobs stream, or an in-process consumer.
/// Read <see cref="Triggers"/>, answer each with <see cref="Ack"/>; dispose when the consumer goes away
/// (its unanswered triggers become undeliverable and are redelivered).
/// </summary>
public sealed class JobStream : IDisposable
{
    private readonly SchedulerEngine _engine;
    internal readonly Channel<JobTrigger> Channel =
        System.Threading.Channels.Channel.CreateUnbounded<JobTrigger>(new UnboundedChannelOptions { SingleReader = true });
    internal readonly Dictionary<ulong, InFlightTrigger> InFlight = [];
    internal ulong LastId;
    internal bool Closed;

    internal JobStream(SchedulerEngine engine, string @namespace, string appId, bool acceptsJobs)
    {
        _engine = engine;
        Namespace = @namespace;
        AppId = appId;
        AcceptsJobs = acceptsJobs;
    }

    public string Namespace { get; }
    public string AppId { get; }
    public bool AcceptsJobs { get; }
    public ChannelReader<JobTrigger> Triggers => Channel.Reader;

    /// <summary>Reports a trigger's result. Unknown or repeated ids are ignored.</summary>
    public void Ack(ulong id, bool success) => _engine.OnResult(this, id, success ? TriggerOutcome.Success : TriggerOutcome.Failed);

    /// <summary>
    /// The consumer could not deliver this trigger because of the job itself (e.g. its stored data does not parse):
    /// the engine quarantines the job instead of redelivering it forever.
    /// </summary>
    public void Reject(ulong id, Exception reason) => _engine.OnRejected(this, id, reason);

    public void Dispose() => _engine.CloseStream(this);
}
