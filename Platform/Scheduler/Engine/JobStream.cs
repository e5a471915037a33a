using System.Threading.Channels;

namespace Platform.Scheduler.Engine;

/// <summary>
/// One consumer of triggers for a (namespace, app id) — a sidecar's WatchJobs stream, or an in-process consumer.
/// Read <see cref="Triggers"/>, answer each with <see cref="Ack"/>; dispose when the consumer goes away
/// (its unanswered triggers become undeliverable and are redelivered). A handle only: the stream's state (its
/// in-flight triggers) is kept by the engine's consumers, to which the answers go.
/// </summary>
public sealed class JobStream : IDisposable
{
    private readonly TriggerConsumers _consumers;
    private readonly Consumer _consumer;

    internal JobStream(TriggerConsumers consumers, Consumer consumer)
    {
        _consumers = consumers;
        _consumer = consumer;
    }

    public string Namespace => _consumer.Namespace;
    public string AppId => _consumer.AppId;
    public bool AcceptsJobs => _consumer.AcceptsJobs;
    public ChannelReader<JobTrigger> Triggers => _consumer.Triggers;

    /// <summary>Reports a trigger's result. Unknown or repeated ids are ignored.</summary>
    public void Ack(ulong id, bool success) => _consumers.Answer(_consumer, id, success ? TriggerOutcome.Success : TriggerOutcome.Failed);

    /// <summary>
    /// The consumer could not deliver this trigger because of the job itself (e.g. its stored data does not parse):
    /// the engine quarantines the job instead of redelivering it forever.
    /// </summary>
    public void Reject(ulong id, Exception reason) => _consumers.Reject(_consumer, id, reason);

    public void Dispose() => _consumers.Close(_consumer);
}
