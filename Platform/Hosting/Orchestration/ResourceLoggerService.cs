namespace Platform.Hosting;

public sealed record LogLine(long Seq, DateTime Timestamp, bool IsError, string Text);

/// <summary>Console output of every resource, kept in a bounded buffer per resource with increasing sequence numbers.</summary>
public sealed class ResourceLoggerService(int maxLinesPerResource = 10_000)
{
    private readonly Dictionary<string, ResourceLog> _logs = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>Raised for each line (resource name, line), on the reading thread.</summary>
    public event Action<string, LogLine>? LineLogged;

    internal void Append(string resourceName, bool isError, string text, DateTime timestampUtc)
    {
        ResourceLog log;
        lock (_logs)
        {
            if (!_logs.TryGetValue(resourceName, out log!)) _logs[resourceName] = log = new ResourceLog();
        }
        LogLine line;
        lock (log)
        {
            line = new LogLine(++log.LastSeq, timestampUtc, isError, text);
            log.Lines.Enqueue(line);
            while (log.Lines.Count > maxLinesPerResource) log.Lines.Dequeue();
        }
        LineLogged?.Invoke(resourceName, line);
    }

    /// <summary>Lines with sequence number greater than <paramref name="after"/>, oldest first, at most <paramref name="max"/>.</summary>
    public IReadOnlyList<LogLine> GetLines(string resourceName, long after = 0, int max = int.MaxValue)
    {
        ResourceLog? log;
        lock (_logs) _logs.TryGetValue(resourceName, out log);
        if (log is null) return [];
        lock (log) return log.Lines.Where(l => l.Seq > after).Take(max).ToList();
    }

    private sealed class ResourceLog
    {
        public long LastSeq;
        public Queue<LogLine> Lines { get; } = new();
    }
}
