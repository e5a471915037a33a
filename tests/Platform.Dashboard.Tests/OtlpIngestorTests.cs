using Google.Protobuf;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using Platform.Dashboard.Otlp;
using Platform.Dashboard.Otlp.Collector.Logs;
using Platform.Dashboard.Otlp.Collector.Metrics;
using Platform.Dashboard.Otlp.Collector.Trace;
using Platform.Dashboard.Otlp.Common;
using Platform.Dashboard.Otlp.Logs;
using Platform.Dashboard.Otlp.Metrics;
using Platform.Dashboard.Telemetry;
using OtlpResource = Platform.Dashboard.Otlp.Resources.Resource;
using OtlpSpan = Platform.Dashboard.Otlp.Trace.Span;

namespace Platform.Dashboard.Tests;

public class OtlpIngestorTests
{
    private readonly ResourceRegistry _resources = new(10);
    private readonly LogStore _logs = new(100);
    private readonly SpanStore _spans = new(100);
    private readonly MetricStore _metrics = new(100);
    private readonly FakeTimeProvider _time = new(new DateTimeOffset(2026, 1, 1, 12, 0, 0, TimeSpan.Zero));

    private OtlpIngestor Ingestor(TelemetryLimitsOptions? limits = null) =>
        new(_resources, _logs, _spans, _metrics, Options.Create(new DashboardOptions { TelemetryLimits = limits ?? new() }), _time);

    private static OtlpResource Resource(string name, string? instance = null)
    {
        var r = new OtlpResource();
        r.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = name } });
        if (instance is not null) r.Attributes.Add(new KeyValue { Key = "service.instance.id", Value = new AnyValue { StringValue = instance } });
        return r;
    }

    private static KeyValue Attr(string key, string value) => new() { Key = key, Value = new AnyValue { StringValue = value } };

    [Fact]
    public void Logs_keep_severity_ids_time_and_resource_identity()
    {
        var record = new LogRecord
        {
            SeverityNumber = SeverityNumber.Warn2,
            Body = new AnyValue { StringValue = "Disk {Dir} almost full" },
            TraceId = ByteString.CopyFrom(Enumerable.Range(1, 16).Select(i => (byte)i).ToArray()),
            SpanId = ByteString.CopyFrom(Enumerable.Range(1, 8).Select(i => (byte)i).ToArray()),
            TimeUnixNano = 1_700_000_000_123_000_000,
            Attributes = { Attr("Dir", "/backup-dir"), new KeyValue { Key = "n", Value = new AnyValue { IntValue = 42 } } },
        };
        Ingestor().Ingest(new ExportLogsServiceRequest
        {
            ResourceLogs = { new ResourceLogs { Resource = Resource("backupworker", "w1"), ScopeLogs = { new ScopeLogs { Scope = new InstrumentationScope { Name = "Engine" }, LogRecords = { record } } } } },
        });
        var entry = Assert.Single(_logs.Query(new LogQuery()));
        Assert.Equal(LogSeverity.Warning, entry.Severity);
        Assert.Equal("Disk /backup-dir almost full", entry.Message);
        Assert.Equal("0102030405060708090a0b0c0d0e0f10", entry.TraceId);
        Assert.Equal("0102030405060708", entry.SpanId);
        Assert.Equal("Engine", entry.Category);
        Assert.Equal(new DateTime(2023, 11, 14, 22, 13, 20, 123, DateTimeKind.Utc), entry.Timestamp);
        Assert.Equal(("backupworker", "w1"), (entry.Resource.ServiceName, entry.Resource.InstanceId));
        Assert.Contains(new KeyValuePair<string, string>("n", "42"), entry.Attributes);
    }

    [Fact]
    public void A_record_without_time_gets_the_receive_time_and_no_service_name_reads_unknown_service()
    {
        Ingestor().Ingest(new ExportLogsServiceRequest
        {
            ResourceLogs = { new ResourceLogs { ScopeLogs = { new ScopeLogs { LogRecords = { new LogRecord { Body = new AnyValue { StringValue = "x" } } } } } } },
        });
        var entry = Assert.Single(_logs.Query(new LogQuery()));
        Assert.Equal(_time.GetUtcNow().UtcDateTime, entry.Timestamp);
        Assert.Equal("unknown_service", entry.Resource.ServiceName);
        Assert.Equal(LogSeverity.Information, entry.Severity);
    }

    [Fact]
    public void Per_item_caps_bound_attribute_count_length_and_span_events()
    {
        var limits = new TelemetryLimitsOptions { MaxAttributeCount = 3, MaxAttributeLength = 10, MaxSpanEventCount = 2 };
        var span = new OtlpSpan
        {
            TraceId = ByteString.CopyFrom(new byte[16] { 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }),
            SpanId = ByteString.CopyFrom(new byte[8] { 1, 0, 0, 0, 0, 0, 0, 1 }),
            Name = "a very long span name indeed",
        };
        for (var i = 0; i < 10; i++) span.Attributes.Add(Attr($"k{i}", new string('v', 100)));
        for (var i = 0; i < 5; i++) span.Events.Add(new OtlpSpan.Types.Event { Name = $"e{i}" });
        Ingestor(limits).Ingest(new ExportTraceServiceRequest
        {
            ResourceSpans = { new Otlp.Trace.ResourceSpans { Resource = Resource("scheduler"), ScopeSpans = { new Otlp.Trace.ScopeSpans { Spans = { span } } } } },
        });
        var stored = Assert.Single(_spans.GetTrace("01000000000000000000000000000001")!);
        Assert.Equal(3, stored.Attributes.Count);
        Assert.All(stored.Attributes, a => Assert.Equal(11, a.Value.Length)); // 10 characters and an ellipsis
        Assert.Equal("a very lon…", stored.Name);
        Assert.Equal(["e0", "e1"], stored.Events.Select(e => e.Name));
    }

    [Fact]
    public void Spans_without_ids_are_dropped()
    {
        Ingestor().Ingest(new ExportTraceServiceRequest
        {
            ResourceSpans = { new Otlp.Trace.ResourceSpans { Resource = Resource("scheduler"), ScopeSpans = { new Otlp.Trace.ScopeSpans { Spans = { new OtlpSpan { Name = "no ids" } } } } } },
        });
        Assert.Equal(0, _spans.Count);
    }

    [Fact]
    public void Metrics_become_points_per_instrument_and_attribute_set()
    {
        var sum = new Sum { AggregationTemporality = AggregationTemporality.Cumulative, IsMonotonic = true };
        sum.DataPoints.Add(new NumberDataPoint { AsInt = 5, TimeUnixNano = 1, Attributes = { Attr("app_id", "backupworker") } });
        sum.DataPoints.Add(new NumberDataPoint { AsInt = 2, TimeUnixNano = 1, Attributes = { Attr("app_id", "backupapi") } });
        var histogram = new Histogram { AggregationTemporality = AggregationTemporality.Cumulative };
        histogram.DataPoints.Add(new HistogramDataPoint { Count = 4, Sum = 40, ExplicitBounds = { 5, 10, 20 }, BucketCounts = { 0, 2, 2, 0 }, TimeUnixNano = 1 });
        Ingestor().Ingest(new ExportMetricsServiceRequest
        {
            ResourceMetrics =
            {
                new ResourceMetrics
                {
                    Resource = Resource("scheduler"),
                    ScopeMetrics =
                    {
                        new ScopeMetrics
                        {
                            Scope = new InstrumentationScope { Name = "Platform.Scheduler" },
                            Metrics =
                            {
                                new Metric { Name = "triggers", Sum = sum },
                                new Metric { Name = "lateness", Unit = "ms", Histogram = histogram },
                            },
                        },
                    },
                },
            },
        });
        var resource = _resources.All().Single();
        var triggers = _metrics.Get(resource, "Platform.Scheduler", "triggers")!;
        Assert.Equal(InstrumentKind.Sum, triggers.Kind);
        Assert.Equal([2.0, 5.0], triggers.Series.Select(s => s.Points.Single().Value)); // ordered by attributes: backupapi, backupworker
        var lateness = _metrics.Get(resource, "Platform.Scheduler", "lateness")!;
        var point = lateness.Series.Single().Points.Single();
        Assert.Equal((4UL, 40.0, 10.0), (point.Count, point.Sum, point.Value));
        Assert.Equal(10, HistogramMath.Quantile(0.5, point.Bounds!, point.BucketCounts!));
    }
}
