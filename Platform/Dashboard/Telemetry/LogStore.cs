namespace Platform.Dashboard.Telemetry;

public sealed record LogQuery(string? Resource = null, LogSeverity? MinimumSeverity = null, string? Text = null, string? TraceId = null);

/// <summary>Structured logs in arrival order, at most <c>capacity</c>; the oldest is evicted first.</summary>
public sealed class LogStore(int capacity)
{
    private readonly object _gate = new();
    private readonly Queue<LogEntry> _entries = new();
    private long _nextId;
    private long _evicted;

    public int Capacity { get; } = Math.Max(1, capacity);

    public int Count { get { lock (_gate) return _entries.Count; } }
    public long Evicted { get { lock (_gate) return _evicted; } }

    public long NextId() => Interlocked.Increment(ref _nextId);

    public void Add(IEnumerable<LogEntry> entries)
    {
        lock (_gate)
        {
            foreach (var entry in entries)
            {
                _entries.Enqueue(entry);
                while (_entries.Count > Capacity)
                {
                    _entries.Dequeue();
                    _evicted++;
                }
            }
        }
    }

    /// <summary>Newest first, at most <paramref name="max"/> matches.</summary>
    public IReadOnlyList<LogEntry> Query(LogQuery query, int max = 500)
    {
        LogEntry[] snapshot;
        lock (_gate) snapshot = _entries.ToArray();
        var result = new List<LogEntry>();
        for (var i = snapshot.Length - 1; i >= 0 && result.Count < max; i--)
        {
            var e = snapshot[i];
            if (query.Resource is { Length: > 0 } r && e.Resource.Key != r && e.Resource.ServiceName != r) continue;
            if (query.MinimumSeverity is { } min && e.Severity < min) continue;
            if (query.TraceId is { Length: > 0 } t && !string.Equals(e.TraceId, t, StringComparison.OrdinalIgnoreCase)) continue;
            if (query.Text is { Length: > 0 } text
                && !e.Message.Contains(text, StringComparison.OrdinalIgnoreCase)
                && !e.Category.Contains(text, StringComparison.OrdinalIgnoreCase)) continue;
            result.Add(e);
        }
        return result;
    }

    public LogEntry? Get(long id)
    {
        lock (_gate) return _entries.FirstOrDefault(e => e.Id == id);
    }
}
