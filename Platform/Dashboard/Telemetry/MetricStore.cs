namespace Platform.Dashboard.Telemetry;

public enum InstrumentKind { Gauge, Sum, Histogram, ExponentialHistogram, Summary }

/// <summary>One data point. Number points use <see cref="Value"/>; histogram points also carry their buckets.</summary>
public sealed record MetricPoint(DateTime Time, double Value, ulong Count = 0, double Sum = 0,
    double[]? Bounds = null, ulong[]? BucketCounts = null, bool Cumulative = false);

public sealed class MetricSeries(string attributesKey, IReadOnlyList<KeyValuePair<string, string>> attributes)
{
    internal readonly Queue<MetricPoint> Points = new();
    public string AttributesKey { get; } = attributesKey;
    public IReadOnlyList<KeyValuePair<string, string>> Attributes { get; } = attributes;
    internal MetricInstrument? Owner { get; set; }
}

public sealed class MetricInstrument(TelemetryResource resource, string meter, string name, string description, string unit, InstrumentKind kind)
{
    internal readonly Dictionary<string, MetricSeries> Series = new(StringComparer.Ordinal);
    public TelemetryResource Resource { get; } = resource;
    public string Meter { get; } = meter;
    public string Name { get; } = name;
    public string Description { get; internal set; } = description;
    public string Unit { get; internal set; } = unit;
    public InstrumentKind Kind { get; internal set; } = kind;
}

/// <summary>A copy of one series for rendering, taken under the store's lock.</summary>
public sealed record SeriesSnapshot(IReadOnlyList<KeyValuePair<string, string>> Attributes, IReadOnlyList<MetricPoint> Points);

public sealed record InstrumentSnapshot(string Meter, string Name, string Description, string Unit, InstrumentKind Kind, IReadOnlyList<SeriesSnapshot> Series);

/// <summary>
/// Metric points per (resource, meter, instrument, attribute set). The bound is on points across every series:
/// at most <c>capacity</c>, the oldest received evicted first; a series (and an instrument) goes with its last point.
/// </summary>
public sealed class MetricStore(int capacity)
{
    private readonly object _gate = new();
    private readonly Dictionary<(TelemetryResource, string Meter, string Name), MetricInstrument> _instruments = [];
    private readonly Queue<MetricSeries> _order = new();
    private long _evicted;

    public int Capacity { get; } = Math.Max(1, capacity);
    public int Count { get { lock (_gate) return _order.Count; } }
    public long Evicted { get { lock (_gate) return _evicted; } }

    public void Add(TelemetryResource resource, string meter, string name, string description, string unit, InstrumentKind kind,
        IReadOnlyList<KeyValuePair<string, string>> attributes, MetricPoint point)
    {
        var attributesKey = string.Join("\u001f", attributes.OrderBy(a => a.Key, StringComparer.Ordinal).Select(a => a.Key + "=" + a.Value));
        lock (_gate)
        {
            if (!_instruments.TryGetValue((resource, meter, name), out var instrument))
                _instruments[(resource, meter, name)] = instrument = new MetricInstrument(resource, meter, name, description, unit, kind);
            instrument.Description = description;
            instrument.Unit = unit;
            instrument.Kind = kind;
            if (!instrument.Series.TryGetValue(attributesKey, out var series))
                instrument.Series[attributesKey] = series = new MetricSeries(attributesKey, attributes) { Owner = instrument };
            series.Points.Enqueue(point);
            _order.Enqueue(series);
            while (_order.Count > Capacity) EvictOldest();
        }
    }

    private void EvictOldest()
    {
        // Each series' points are FIFO too, so the globally oldest point is the head of its series.
        var series = _order.Dequeue();
        series.Points.Dequeue();
        _evicted++;
        if (series.Points.Count > 0 || series.Owner is not { } instrument) return;
        instrument.Series.Remove(series.AttributesKey);
        if (instrument.Series.Count == 0) _instruments.Remove((instrument.Resource, instrument.Meter, instrument.Name));
    }

    public IReadOnlyList<(TelemetryResource Resource, string Meter, string Name, InstrumentKind Kind)> Instruments()
    {
        lock (_gate)
            return [.. _instruments.Values
                .OrderBy(i => i.Resource.ServiceName, StringComparer.Ordinal).ThenBy(i => i.Meter, StringComparer.Ordinal).ThenBy(i => i.Name, StringComparer.Ordinal)
                .Select(i => (i.Resource, i.Meter, i.Name, i.Kind))];
    }

    public InstrumentSnapshot? Get(TelemetryResource resource, string meter, string name)
    {
        lock (_gate)
        {
            if (!_instruments.TryGetValue((resource, meter, name), out var i)) return null;
            return new InstrumentSnapshot(i.Meter, i.Name, i.Description, i.Unit, i.Kind,
                [.. i.Series.Values.OrderBy(s => s.AttributesKey, StringComparer.Ordinal).Select(s => new SeriesSnapshot(s.Attributes, [.. s.Points]))]);
        }
    }
}
