using System.Diagnostics.Tracing;

namespace Benchmarks;

/// <summary>
/// Each pause of the runtime for a collection (suspension begun to threads restarted), from the runtime's own events:
/// the total alone cannot tell one long pause, which makes a lateness tail, from many short ones.
/// </summary>
internal sealed class GcPauses : EventListener
{
    private const int SuspendBegin = 9, RestartEnd = 3;
    private readonly object _gate = new();
    private DateTime? _suspended;
    private TimeSpan _longest;
    private int _over10Ms;

    protected override void OnEventSourceCreated(EventSource source)
    {
        if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Informational, (EventKeywords)0x1);
    }

    protected override void OnEventWritten(EventWrittenEventArgs e)
    {
        lock (_gate)
        {
            if (e.EventId == SuspendBegin) _suspended = e.TimeStamp;
            else if (e.EventId == RestartEnd && _suspended is { } began)
            {
                var pause = e.TimeStamp - began;
                _suspended = null;
                if (pause > _longest) _longest = pause;
                if (pause.TotalMilliseconds > 10) _over10Ms++;
            }
        }
    }

    /// <summary>The longest pause and how many passed 10 ms since the last call; starts again.</summary>
    public (TimeSpan Longest, int Over10Ms) Take()
    {
        lock (_gate)
        {
            var taken = (_longest, _over10Ms);
            (_longest, _over10Ms) = (TimeSpan.Zero, 0);
            return taken;
        }
    }
}
