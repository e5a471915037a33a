using Grpc.Core;
using Platform.Dashboard.Otlp.Collector.Logs;
using Platform.Dashboard.Otlp.Collector.Metrics;
using Platform.Dashboard.Otlp.Collector.Trace;

namespace Platform.Dashboard.Otlp;

// The API key is checked by OtlpApiKeyCheck in the request pipeline before these run (it answers gRPC
// requests with grpc-status 16), so the services only convert and store.

public sealed class OtlpTraceService(OtlpIngestor ingestor) : TraceService.TraceServiceBase
{
    public override Task<ExportTraceServiceResponse> Export(ExportTraceServiceRequest request, ServerCallContext context)
    {
        ingestor.Ingest(request);
        return Task.FromResult(new ExportTraceServiceResponse());
    }
}

public sealed class OtlpLogsService(OtlpIngestor ingestor) : LogsService.LogsServiceBase
{
    public override Task<ExportLogsServiceResponse> Export(ExportLogsServiceRequest request, ServerCallContext context)
    {
        ingestor.Ingest(request);
        return Task.FromResult(new ExportLogsServiceResponse());
    }
}

public sealed class OtlpMetricsService(OtlpIngestor ingestor) : MetricsService.MetricsServiceBase
{
    public override Task<ExportMetricsServiceResponse> Export(ExportMetricsServiceRequest request, ServerCallContext context)
    {
        ingestor.Ingest(request);
        return Task.FromResult(new ExportMetricsServiceResponse());
    }
}
