using Platform.Dashboard.Telemetry;

namespace Platform.Dashboard.Tests;

public class StoreTests
{
    private static readonly TelemetryResource Worker = new("backupworker", "w1", []);
    private static readonly TelemetryResource Api = new("backupapi", "a1", []);
    private static readonly DateTime T0 = new(2026, 1, 1, 10, 0, 0, DateTimeKind.Utc);

    private static LogEntry Log(LogStore store, TelemetryResource r, LogSeverity s, string message, string traceId = "") =>
        new(store.NextId(), r, T0, s, message, "Cat", traceId, "", []);

    [Fact]
    public void LogStore_keeps_only_the_newest_entries_up_to_its_capacity()
    {
        var store = new LogStore(3);
        store.Add(Enumerable.Range(0, 5).Select(i => Log(store, Worker, LogSeverity.Information, $"m{i}")));
        Assert.Equal(3, store.Count);
        Assert.Equal(2, store.Evicted);
        Assert.Equal(["m4", "m3", "m2"], store.Query(new LogQuery()).Select(e => e.Message));
    }

    [Fact]
    public void LogStore_filters_by_resource_minimum_level_text_and_trace()
    {
        var store = new LogStore(100);
        store.Add([
            Log(store, Worker, LogSeverity.Debug, "debug detail"),
            Log(store, Worker, LogSeverity.Warning, "disk almost full"),
            Log(store, Worker, LogSeverity.Error, "backup failed", "abc"),
            Log(store, Api, LogSeverity.Error, "api failed"),
        ]);
        Assert.Equal(3, store.Query(new LogQuery(Resource: "backupworker")).Count);
        Assert.Equal(["backup failed", "disk almost full"], store.Query(new LogQuery("backupworker", LogSeverity.Warning)).Select(e => e.Message));
        Assert.Equal(["backup failed"], store.Query(new LogQuery(Text: "BACKUP")).Select(e => e.Message));
        Assert.Equal(["backup failed"], store.Query(new LogQuery(TraceId: "ABC")).Select(e => e.Message));
    }

    private static SpanEntry Span(TelemetryResource r, string trace, string id, string parent, int startMs, int durMs, string name = "op") =>
        new(r, "scope", trace, id, parent, name, "Internal", T0.AddMilliseconds(startMs), T0.AddMilliseconds(startMs + durMs), SpanStatus.Unset, "", [], []);

    [Fact]
    public void SpanStore_groups_spans_into_traces_and_drops_duplicates()
    {
        var store = new SpanStore(100);
        store.Add([Span(Api, "t1", "a", "", 0, 100), Span(Worker, "t1", "b", "a", 10, 50), Span(Worker, "t2", "c", "", 5, 5)]);
        store.Add([Span(Worker, "t1", "b", "a", 10, 50)]);
        Assert.Equal(3, store.Count);
        var summary = SpanStore.Summarize(store.GetTrace("t1")!);
        Assert.Equal("backupapi: op", summary.Name);
        Assert.Equal(TimeSpan.FromMilliseconds(100), summary.Duration);
        Assert.Equal([new("backupapi", 1), new KeyValuePair<string, int>("backupworker", 1)], summary.SpansPerResource);
        Assert.Equal(["t1", "t2"], store.ListTraces().Select(t => t.TraceId).Order());
        Assert.Equal(["t1"], store.ListTraces(resource: "backupapi").Select(t => t.TraceId));
    }

    [Fact]
    public void SpanStore_evicts_the_oldest_span_and_a_trace_goes_with_its_last_span()
    {
        var store = new SpanStore(2);
        store.Add([Span(Api, "t1", "a", "", 0, 10), Span(Api, "t2", "b", "", 0, 10), Span(Api, "t3", "c", "", 0, 10)]);
        Assert.Equal(2, store.Count);
        Assert.Null(store.GetTrace("t1"));
        Assert.NotNull(store.GetTrace("t3"));
        Assert.Equal(2, store.TraceCount);
    }

    [Fact]
    public void Waterfall_orders_depth_first_with_children_by_start_time()
    {
        var spans = new[]
        {
            Span(Worker, "t", "w", "s", 30, 10, "worker"), Span(Api, "t", "r", "", 0, 100, "root"),
            Span(Api, "t", "s", "r", 20, 40, "sidecar"), Span(Api, "t", "e", "r", 5, 5, "early"),
        };
        var order = SpanStore.Waterfall(spans).Select(x => (x.Span.Name, x.Depth));
        Assert.Equal([("root", 0), ("early", 1), ("sidecar", 1), ("worker", 2)], order);
    }

    [Fact]
    public void MetricStore_bounds_points_across_series_and_forgets_emptied_series()
    {
        var store = new MetricStore(3);
        KeyValuePair<string, string>[] a = [new("k", "a")], b = [new("k", "b")];
        store.Add(Worker, "m", "c", "", "", InstrumentKind.Sum, a, new MetricPoint(T0, 1));
        store.Add(Worker, "m", "c", "", "", InstrumentKind.Sum, b, new MetricPoint(T0, 2));
        store.Add(Worker, "m", "c", "", "", InstrumentKind.Sum, b, new MetricPoint(T0.AddSeconds(1), 3));
        store.Add(Worker, "m", "c", "", "", InstrumentKind.Sum, b, new MetricPoint(T0.AddSeconds(2), 4));
        Assert.Equal(3, store.Count);
        var snapshot = store.Get(Worker, "m", "c")!;
        var only = Assert.Single(snapshot.Series); // series a lost its only point
        Assert.Equal([2.0, 3, 4], only.Points.Select(p => p.Value));
    }

    [Fact]
    public void Histogram_quantiles_interpolate_inside_buckets_and_use_interval_counts()
    {
        double[] bounds = [10, 20, 40];
        Assert.Equal(5, HistogramMath.Quantile(0.5, bounds, [10, 0, 0, 0]));
        Assert.Equal(15, HistogramMath.Quantile(0.5, bounds, [0, 10, 0, 0]));
        Assert.Equal(40, HistogramMath.Quantile(0.99, bounds, [0, 0, 0, 10])); // open top bucket reads as the last bound
        Assert.Null(HistogramMath.Quantile(0.5, bounds, [0, 0, 0, 0]));
        var before = new MetricPoint(T0, 0, 10, 0, bounds, [10, 0, 0, 0], Cumulative: true);
        var after = new MetricPoint(T0, 0, 20, 0, bounds, [10, 0, 10, 0], Cumulative: true);
        Assert.Equal([0UL, 0, 10, 0], HistogramMath.IntervalCounts(before, after));
        Assert.Equal(30, HistogramMath.Quantile(0.5, bounds, HistogramMath.IntervalCounts(before, after)));
    }

    [Fact]
    public void Message_templates_are_filled_from_attributes()
    {
        KeyValuePair<string, string>[] attrs = [new("Name", "prod-db-backup"), new("Elapsed", "12")];
        Assert.Equal("Job prod-db-backup took 12 ms {Unknown}",
            Otlp.OtlpIngestor.FormatMessage("Job {Name} took {Elapsed:0.0} ms {Unknown}", attrs));
        Assert.Equal("plain", Otlp.OtlpIngestor.FormatMessage("plain", attrs));
    }

    [Fact]
    public void Listeners_refuse_one_port_for_two_roles_and_urls_without_port()
    {
        Assert.Throws<InvalidOperationException>(() => Hosting.DashboardListeners.From("http://127.0.0.1:5000",
            new OtlpOptions { GrpcEndpointUrl = "http://127.0.0.1:5000" }));
        Assert.Throws<InvalidOperationException>(() => Hosting.DashboardListeners.From("https://127.0.0.1:5001", new OtlpOptions()));
        var ok = Hosting.DashboardListeners.From("http://127.0.0.1:5000", new OtlpOptions { GrpcEndpointUrl = "http://127.0.0.1:5001", HttpEndpointUrl = "http://localhost:5002" });
        Assert.Equal(Hosting.ListenerRole.OtlpGrpc, ok.RoleOf(5001));
        Assert.Equal(Hosting.ListenerRole.OtlpHttp, ok.RoleOf(5002));
        Assert.Equal(Hosting.ListenerRole.Frontend, ok.RoleOf(5000));
    }
}
