using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Google.Protobuf;
using Google.Protobuf.Collections;
using Microsoft.Extensions.Options;
using Platform.Dashboard.Otlp.Collector.Logs;
using Platform.Dashboard.Otlp.Collector.Metrics;
using Platform.Dashboard.Otlp.Collector.Trace;
using Platform.Dashboard.Otlp.Common;
using Platform.Dashboard.Otlp.Metrics;
using Platform.Dashboard.Telemetry;
using OtlpResource = Platform.Dashboard.Otlp.Resources.Resource;
using OtlpSpan = Platform.Dashboard.Otlp.Trace.Span;

namespace Platform.Dashboard.Otlp;

/// <summary>Turns OTLP export requests (from gRPC or HTTP) into store entries, applying the per-item caps.</summary>
public sealed partial class OtlpIngestor(
    ResourceRegistry resources, LogStore logs, SpanStore spans, MetricStore metrics,
    IOptions<DashboardOptions> options, TimeProvider time)
{
    private readonly TelemetryLimitsOptions _limits = options.Value.TelemetryLimits;

    public void Ingest(ExportLogsServiceRequest request)
    {
        var batch = new List<LogEntry>();
        foreach (var rl in request.ResourceLogs)
        {
            var resource = Resolve(rl.Resource);
            foreach (var sl in rl.ScopeLogs)
            {
                var scope = sl.Scope?.Name ?? "";
                foreach (var record in sl.LogRecords)
                {
                    var attributes = Attributes(record.Attributes);
                    var nanos = record.TimeUnixNano != 0 ? record.TimeUnixNano : record.ObservedTimeUnixNano;
                    batch.Add(new LogEntry(logs.NextId(), resource, Time(nanos),
                        LogSeverities.FromOtlp((int)record.SeverityNumber),
                        Truncate(FormatMessage(ToText(record.Body), attributes)),
                        scope, Hex(record.TraceId), Hex(record.SpanId), attributes));
                }
            }
        }
        logs.Add(batch);
    }

    public void Ingest(ExportTraceServiceRequest request)
    {
        var batch = new List<SpanEntry>();
        foreach (var rs in request.ResourceSpans)
        {
            var resource = Resolve(rs.Resource);
            foreach (var ss in rs.ScopeSpans)
            {
                var scope = ss.Scope?.Name ?? "";
                foreach (var s in ss.Spans)
                {
                    if (s.TraceId.IsEmpty || s.SpanId.IsEmpty) continue; // not a span anyone can find again
                    batch.Add(new SpanEntry(resource, scope, Hex(s.TraceId), Hex(s.SpanId), Hex(s.ParentSpanId), Truncate(s.Name),
                        KindName(s.Kind), Time(s.StartTimeUnixNano), Time(s.EndTimeUnixNano),
                        s.Status?.Code switch
                        {
                            Trace.Status.Types.StatusCode.Ok => SpanStatus.Ok,
                            Trace.Status.Types.StatusCode.Error => SpanStatus.Error,
                            _ => SpanStatus.Unset,
                        },
                        Truncate(s.Status?.Message ?? ""), Attributes(s.Attributes),
                        [.. s.Events.Take(_limits.MaxSpanEventCount).Select(e => new SpanEvent(Time(e.TimeUnixNano), Truncate(e.Name), Attributes(e.Attributes)))]));
                }
            }
        }
        spans.Add(batch);
    }

    public void Ingest(ExportMetricsServiceRequest request)
    {
        foreach (var rm in request.ResourceMetrics)
        {
            var resource = Resolve(rm.Resource);
            foreach (var sm in rm.ScopeMetrics)
            {
                var meter = sm.Scope?.Name ?? "";
                foreach (var m in sm.Metrics) IngestMetric(resource, meter, m);
            }
        }
    }

    private void IngestMetric(TelemetryResource resource, string meter, Metric m)
    {
        void Number(InstrumentKind kind, RepeatedField<NumberDataPoint> points)
        {
            foreach (var p in points)
            {
                var value = p.ValueCase == NumberDataPoint.ValueOneofCase.AsInt ? p.AsInt : p.AsDouble;
                metrics.Add(resource, meter, m.Name, m.Description, m.Unit, kind, Attributes(p.Attributes), new MetricPoint(Time(p.TimeUnixNano), value));
            }
        }

        switch (m.DataCase)
        {
            case Metric.DataOneofCase.Gauge:
                Number(InstrumentKind.Gauge, m.Gauge.DataPoints);
                break;
            case Metric.DataOneofCase.Sum:
                Number(InstrumentKind.Sum, m.Sum.DataPoints);
                break;
            case Metric.DataOneofCase.Histogram:
                var cumulative = m.Histogram.AggregationTemporality == AggregationTemporality.Cumulative;
                foreach (var p in m.Histogram.DataPoints)
                {
                    var sum = p.HasSum ? p.Sum : 0;
                    metrics.Add(resource, meter, m.Name, m.Description, m.Unit, InstrumentKind.Histogram, Attributes(p.Attributes),
                        new MetricPoint(Time(p.TimeUnixNano), p.Count == 0 ? 0 : sum / p.Count, p.Count, sum,
                            [.. p.ExplicitBounds], [.. p.BucketCounts], cumulative));
                }
                break;
            case Metric.DataOneofCase.ExponentialHistogram:
                // Shown as its mean over time; bucket-level detail is not charted.
                foreach (var p in m.ExponentialHistogram.DataPoints)
                {
                    var sum = p.HasSum ? p.Sum : 0;
                    metrics.Add(resource, meter, m.Name, m.Description, m.Unit, InstrumentKind.ExponentialHistogram, Attributes(p.Attributes),
                        new MetricPoint(Time(p.TimeUnixNano), p.Count == 0 ? 0 : sum / p.Count, p.Count, sum));
                }
                break;
            case Metric.DataOneofCase.Summary:
                foreach (var p in m.Summary.DataPoints)
                    metrics.Add(resource, meter, m.Name, m.Description, m.Unit, InstrumentKind.Summary, Attributes(p.Attributes),
                        new MetricPoint(Time(p.TimeUnixNano), p.Count == 0 ? 0 : p.Sum / p.Count, p.Count, p.Sum));
                break;
        }
    }

    private TelemetryResource Resolve(OtlpResource? resource)
    {
        string name = "unknown_service", instance = "";
        if (resource is not null)
            foreach (var kv in resource.Attributes)
            {
                if (kv.Key == "service.name") name = Truncate(ToText(kv.Value));
                else if (kv.Key == "service.instance.id") instance = Truncate(ToText(kv.Value));
            }
        return resources.GetOrAdd(name, instance, () => resource is null ? [] : Attributes(resource.Attributes));
    }

    private KeyValuePair<string, string>[] Attributes(RepeatedField<KeyValue> attributes) =>
        [.. attributes.Take(_limits.MaxAttributeCount).Select(a => new KeyValuePair<string, string>(Truncate(a.Key), Truncate(ToText(a.Value))))];

    private string Truncate(string text) =>
        text.Length <= _limits.MaxAttributeLength ? text : string.Concat(text.AsSpan(0, _limits.MaxAttributeLength), "…");

    private DateTime Time(ulong unixNanos) =>
        unixNanos == 0 ? time.GetUtcNow().UtcDateTime : DateTime.UnixEpoch.AddTicks((long)(unixNanos / 100));

    public static string Hex(ByteString bytes) => bytes.IsEmpty ? "" : Convert.ToHexStringLower(bytes.Span);

    public static string ToText(AnyValue? value) => value?.ValueCase switch
    {
        AnyValue.ValueOneofCase.StringValue => value.StringValue,
        AnyValue.ValueOneofCase.BoolValue => value.BoolValue ? "true" : "false",
        AnyValue.ValueOneofCase.IntValue => value.IntValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.DoubleValue => value.DoubleValue.ToString(CultureInfo.InvariantCulture),
        AnyValue.ValueOneofCase.ArrayValue => "[" + string.Join(", ", value.ArrayValue.Values.Select(ToText)) + "]",
        AnyValue.ValueOneofCase.KvlistValue => "{" + string.Join(", ", value.KvlistValue.Values.Select(kv => kv.Key + ": " + ToText(kv.Value))) + "}",
        AnyValue.ValueOneofCase.BytesValue => Convert.ToBase64String(value.BytesValue.Span),
        _ => "",
    };

    /// <summary>
    /// An exporter that sends the message template as the body ("Backup {Name} done") also sends the values as
    /// attributes; fill them in so the list reads like the console. Unknown placeholders stay as they are.
    /// </summary>
    public static string FormatMessage(string body, IReadOnlyList<KeyValuePair<string, string>> attributes)
    {
        if (!body.Contains('{') || attributes.Count == 0) return body;
        return Placeholder().Replace(body, match =>
        {
            var name = match.Groups[1].Value;
            foreach (var a in attributes) if (a.Key == name) return a.Value;
            return match.Value;
        });
    }

    private static string KindName(OtlpSpan.Types.SpanKind kind) => kind switch
    {
        OtlpSpan.Types.SpanKind.Server => "Server",
        OtlpSpan.Types.SpanKind.Client => "Client",
        OtlpSpan.Types.SpanKind.Producer => "Producer",
        OtlpSpan.Types.SpanKind.Consumer => "Consumer",
        _ => "Internal",
    };

    [GeneratedRegex(@"\{@?([A-Za-z0-9_.]+)(?:[,:][^}]*)?\}")]
    private static partial Regex Placeholder();
}
