using System.Threading.Channels;

namespace Platform.Scheduler.Engine;

/// <summary>
/// One consumer stream's state, owned by <see cref="TriggerConsumers"/> under the engine's lock: the channel its
/// triggers go out on, the triggers sent and not answered yet (by id), and whether it has closed.
/// </summary>
internal sealed class Consumer(string @namespace, string appId, bool acceptsJobs)
{
    private readonly Channel<JobTrigger> _channel =
        Channel.CreateUnbounded<JobTrigger>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Dictionary<ulong, InFlightTrigger> _inFlight = [];
    private ulong _lastId;

    public string Namespace { get; } = @namespace;
    public string AppId { get; } = appId;
    public bool AcceptsJobs { get; } = acceptsJobs;
    public bool Closed { get; private set; }
    public ChannelReader<JobTrigger> Triggers => _channel.Reader;

    /// <summary>The id for the next trigger sent on this stream.</summary>
    public ulong NextId() => ++_lastId;

    public void AddInFlight(ulong id, in InFlightTrigger flight) => _inFlight[id] = flight;

    public void Send(JobTrigger trigger) => _channel.Writer.TryWrite(trigger);

    /// <summary>Removes the trigger from the in-flight table; false when it is unknown or was answered already.</summary>
    public bool TryTake(ulong id, out InFlightTrigger flight) => _inFlight.Remove(id, out flight);

    /// <summary>
    /// Adds the ids of triggers sent at least <paramref name="timeout"/> ago to <paramref name="overdue"/>; returns the
    /// earliest deadline of the others (MaxValue when none).
    /// </summary>
    public long FindOverdue(long now, long timeout, ref List<(Consumer Stream, ulong Id)>? overdue)
    {
        var next = long.MaxValue;
        foreach (var (id, flight) in _inFlight)
        {
            var deadline = TriggerConsumers.SaturatingAdd(flight.SentAt, timeout);
            if (deadline <= now) (overdue ??= []).Add((this, id));
            else next = Math.Min(next, deadline);
        }
        return next;
    }

    /// <summary>Ends the channel; the reader sees the end once it has read what was sent.</summary>
    public void Complete() => _channel.Writer.TryComplete();

    /// <summary>Closes the stream and hands back the triggers still unanswered.</summary>
    public List<InFlightTrigger> Close()
    {
        Closed = true;
        _channel.Writer.TryComplete();
        List<InFlightTrigger> orphans = [.. _inFlight.Values];
        _inFlight.Clear();
        return orphans;
    }
}
