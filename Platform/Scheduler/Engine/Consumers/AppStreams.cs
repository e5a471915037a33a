namespace Platform.Scheduler.Engine;

/// <summary>The open streams of one (namespace, app id), taken in turn.</summary>
internal sealed class AppStreams
{
    public readonly List<Consumer> Streams = [];
    private int _next;

    /// <summary>Round-robin over the streams that accept jobs.</summary>
    public Consumer? Next()
    {
        for (var i = 0; i < Streams.Count; i++)
        {
            var s = Streams[(int)((uint)_next++ % (uint)Streams.Count)];
            if (s.AcceptsJobs) return s;
        }
        return null;
    }
}
