namespace Platform.Dashboard.Telemetry;

/// <summary>
/// Spans grouped into traces. The bound is on spans (what costs memory): at most <c>capacity</c> spans, the
/// oldest received evicted first; a trace disappears with its last span.
/// </summary>
public sealed class SpanStore(int capacity)
{
    private readonly object _gate = new();
    private readonly Queue<SpanEntry> _order = new();
    private readonly Dictionary<string, List<SpanEntry>> _traces = new(StringComparer.Ordinal);
    private long _evicted;

    public int Capacity { get; } = Math.Max(1, capacity);
    public int Count { get { lock (_gate) return _order.Count; } }
    public int TraceCount { get { lock (_gate) return _traces.Count; } }
    public long Evicted { get { lock (_gate) return _evicted; } }

    public void Add(IEnumerable<SpanEntry> spans)
    {
        lock (_gate)
        {
            foreach (var span in spans)
            {
                if (!_traces.TryGetValue(span.TraceId, out var trace)) _traces[span.TraceId] = trace = [];
                // An exporter retrying a batch sends the same span again; keep one copy.
                if (trace.Exists(s => s.SpanId == span.SpanId)) continue;
                trace.Add(span);
                _order.Enqueue(span);
                while (_order.Count > Capacity) Evict(_order.Dequeue());
            }
        }
    }

    private void Evict(SpanEntry old)
    {
        _evicted++;
        if (!_traces.TryGetValue(old.TraceId, out var trace)) return;
        trace.Remove(old);
        if (trace.Count == 0) _traces.Remove(old.TraceId);
    }

    public IReadOnlyList<SpanEntry>? GetTrace(string traceId)
    {
        lock (_gate) return _traces.TryGetValue(traceId.ToLowerInvariant(), out var t) ? [.. t] : null;
    }

    /// <summary>Newest first. <paramref name="resource"/> keeps traces with a span of that resource.</summary>
    public IReadOnlyList<TraceSummary> ListTraces(string? resource = null, string? nameFilter = null, int max = 200)
    {
        List<SpanEntry>[] traces;
        lock (_gate) traces = [.. _traces.Values.Select(t => new List<SpanEntry>(t))];
        return traces
            .Select(Summarize)
            .Where(s => resource is not { Length: > 0 } || s.SpansPerResource.Any(p => p.Key == resource))
            .Where(s => nameFilter is not { Length: > 0 } || s.Name.Contains(nameFilter, StringComparison.OrdinalIgnoreCase))
            .OrderByDescending(s => s.Start)
            .Take(max)
            .ToList();
    }

    public static TraceSummary Summarize(IReadOnlyList<SpanEntry> spans)
    {
        var ids = spans.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        // The root is the earliest span whose parent is not in the trace (it may not have arrived yet).
        var root = spans.Where(s => s.ParentSpanId.Length == 0 || !ids.Contains(s.ParentSpanId)).MinBy(s => s.Start) ?? spans.MinBy(s => s.Start)!;
        var start = spans.Min(s => s.Start);
        var end = spans.Max(s => s.End);
        var perResource = spans.GroupBy(s => s.Resource.ServiceName)
            .Select(g => new KeyValuePair<string, int>(g.Key, g.Count()))
            .OrderBy(p => spans.Where(s => s.Resource.ServiceName == p.Key).Min(s => s.Start))
            .ToList();
        return new TraceSummary(root.TraceId, $"{root.Resource.ServiceName}: {root.Name}", start,
            end > start ? end - start : TimeSpan.Zero, perResource, spans.Any(s => s.Status == SpanStatus.Error), spans.Count);
    }

    /// <summary>Spans in waterfall order: depth-first from the roots, children by start time, with their depth.</summary>
    public static IReadOnlyList<(SpanEntry Span, int Depth)> Waterfall(IReadOnlyList<SpanEntry> spans)
    {
        var ids = spans.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        var children = spans.Where(s => s.ParentSpanId.Length > 0 && ids.Contains(s.ParentSpanId))
            .GroupBy(s => s.ParentSpanId)
            .ToDictionary(g => g.Key, g => g.OrderBy(s => s.Start).ToList(), StringComparer.Ordinal);
        var result = new List<(SpanEntry, int)>(spans.Count);
        var visited = new HashSet<SpanEntry>();
        void Visit(SpanEntry span, int depth)
        {
            if (!visited.Add(span)) return; // a malformed trace could contain a cycle
            result.Add((span, depth));
            if (children.TryGetValue(span.SpanId, out var kids))
                foreach (var kid in kids) Visit(kid, depth + 1);
        }
        foreach (var root in spans.Where(s => s.ParentSpanId.Length == 0 || !ids.Contains(s.ParentSpanId)).OrderBy(s => s.Start))
            Visit(root, 0);
        foreach (var rest in spans.Where(s => !visited.Contains(s)).OrderBy(s => s.Start)) Visit(rest, 0);
        return result;
    }
}
