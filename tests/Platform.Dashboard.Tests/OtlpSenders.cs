using System.Diagnostics;
using Google.Protobuf;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Platform.Dashboard.Otlp.Collector.Logs;
using Platform.Dashboard.Otlp.Common;
using Platform.Dashboard.Otlp.Logs;
using OtlpResource = Platform.Dashboard.Otlp.Resources.Resource;

namespace Platform.Dashboard.Tests;

/// <summary>Ways to feed the dashboard: the real OpenTelemetry SDK exporters, or hand-built OTLP messages.</summary>
public static class OtlpSenders
{
    public static void Configure(OtlpExporterOptions o, DashboardInstance dashboard, OtlpExportProtocol protocol, string signal)
    {
        o.Protocol = protocol;
        // Set in code (not from OTEL_EXPORTER_OTLP_ENDPOINT), an http/protobuf endpoint is used as is: give the signal path.
        o.Endpoint = protocol == OtlpExportProtocol.Grpc
            ? new Uri(dashboard.OtlpGrpcUrl)
            : new Uri($"{dashboard.OtlpHttpUrl}/v1/{signal}");
        if (dashboard.ApiKey is not null) o.Headers = "x-otlp-api-key=" + dashboard.ApiKey;
        o.ExportProcessorType = ExportProcessorType.Simple; // export as each span/log ends, nothing waits on a timer
    }

    /// <summary>A tracer provider for one service, exporting through the real SDK OTLP exporter.</summary>
    public static TracerProvider Tracer(DashboardInstance dashboard, string serviceName, string source,
        OtlpExportProtocol protocol = OtlpExportProtocol.Grpc) =>
        Sdk.CreateTracerProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(serviceName, serviceInstanceId: serviceName + "-1"))
            .AddSource(source)
            .SetSampler(new AlwaysOnSampler())
            .AddOtlpExporter(o => Configure(o, dashboard, protocol, "traces"))
            .Build();

    /// <summary>A meter provider for one service; export happens on ForceFlush (the periodic interval is long).</summary>
    public static MeterProvider Meter(DashboardInstance dashboard, string serviceName, string meter,
        OtlpExportProtocol protocol = OtlpExportProtocol.Grpc) =>
        Sdk.CreateMeterProviderBuilder()
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(serviceName, serviceInstanceId: serviceName + "-1"))
            .AddMeter(meter)
            .AddOtlpExporter((o, reader) =>
            {
                Configure(o, dashboard, protocol, "metrics");
                reader.PeriodicExportingMetricReaderOptions.ExportIntervalMilliseconds = 600_000;
            })
            .Build();

    /// <summary>A logger factory for one service, exporting through the real SDK OTLP log exporter.</summary>
    public static ILoggerFactory Logger(DashboardInstance dashboard, string serviceName, OtlpExportProtocol protocol = OtlpExportProtocol.Grpc) =>
        LoggerFactory.Create(b =>
        {
            b.SetMinimumLevel(LogLevel.Trace);
            b.AddOpenTelemetry(o =>
            {
                o.SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService(serviceName, serviceInstanceId: serviceName + "-1"));
                o.IncludeFormattedMessage = true;
                o.AddOtlpExporter(e => Configure(e, dashboard, protocol, "logs"));
            });
        });

    /// <summary>A hand-built OTLP logs request: <paramref name="count"/> records "message #i" of one service.</summary>
    public static ExportLogsServiceRequest Logs(string serviceName, int count, int firstIndex = 0)
    {
        var scope = new ScopeLogs { Scope = new InstrumentationScope { Name = "Test.Logs" } };
        var now = (ulong)DateTimeOffset.UtcNow.ToUnixTimeMilliseconds() * 1_000_000;
        for (var i = firstIndex; i < firstIndex + count; i++)
            scope.LogRecords.Add(new Platform.Dashboard.Otlp.Logs.LogRecord
            {
                TimeUnixNano = now + (ulong)i * 1000,
                SeverityNumber = SeverityNumber.Info,
                Body = new AnyValue { StringValue = $"message #{i}" },
            });
        var resource = new OtlpResource();
        resource.Attributes.Add(new KeyValue { Key = "service.name", Value = new AnyValue { StringValue = serviceName } });
        return new ExportLogsServiceRequest { ResourceLogs = { new ResourceLogs { Resource = resource, ScopeLogs = { scope } } } };
    }

    public static async Task<HttpResponseMessage> PostProtobufAsync(DashboardInstance dashboard, string path, IMessage message, string? apiKey)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var content = new ByteArrayContent(message.ToByteArray());
        content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-protobuf");
        using var request = new HttpRequestMessage(HttpMethod.Post, dashboard.OtlpHttpUrl + path) { Content = content };
        if (apiKey is not null) request.Headers.Add("x-otlp-api-key", apiKey);
        return await http.SendAsync(request);
    }

    public static ActivityContext ContextOf(Activity activity) => new(activity.TraceId, activity.SpanId, activity.ActivityTraceFlags);
}
