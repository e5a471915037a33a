namespace Platform.Dashboard.Resources;

/// <summary>Console output per resource, at most <c>capacity</c> lines each (oldest dropped).</summary>
public sealed class ConsoleLogStore(int capacity)
{
    private readonly object _gate = new();
    private readonly Dictionary<string, Queue<ConsoleLine>> _lines = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _lastSeq = new(StringComparer.Ordinal);

    public int Capacity { get; } = Math.Max(1, capacity);

    public long LastSeq(string resource)
    {
        lock (_gate) return _lastSeq.TryGetValue(resource, out var s) ? s : 0;
    }

    public void Append(string resource, IEnumerable<ConsoleLine> lines)
    {
        lock (_gate)
        {
            if (!_lines.TryGetValue(resource, out var queue)) _lines[resource] = queue = new Queue<ConsoleLine>();
            var last = _lastSeq.GetValueOrDefault(resource);
            foreach (var line in lines)
            {
                if (line.Seq <= last) continue; // already have it
                queue.Enqueue(line);
                last = line.Seq;
                while (queue.Count > Capacity) queue.Dequeue();
            }
            _lastSeq[resource] = last;
        }
    }

    public IReadOnlyList<ConsoleLine> Get(string resource)
    {
        lock (_gate) return _lines.TryGetValue(resource, out var q) ? [.. q] : [];
    }

    public IReadOnlyList<string> Resources()
    {
        lock (_gate) return [.. _lines.Keys.Order(StringComparer.Ordinal)];
    }
}
