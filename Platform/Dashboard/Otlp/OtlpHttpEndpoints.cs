using System.IO.Compression;
using Google.Protobuf;
using Platform.Dashboard.Otlp.Collector.Logs;
using Platform.Dashboard.Otlp.Collector.Metrics;
using Platform.Dashboard.Otlp.Collector.Trace;

namespace Platform.Dashboard.Otlp;

/// <summary>OTLP/HTTP with binary protobuf bodies (what the .NET exporter sends with protocol http/protobuf).</summary>
public static class OtlpHttpEndpoints
{
    private const string Protobuf = "application/x-protobuf";
    // A gzip body is inflated at most to this, so a small compressed request cannot exhaust memory.
    private const int MaxInflatedBytes = 64 * 1024 * 1024;

    public static void MapOtlpHttp(this IEndpointRouteBuilder app)
    {
        app.MapPost("/v1/traces", (HttpContext ctx, OtlpIngestor ingestor) =>
            Handle(ctx, ExportTraceServiceRequest.Parser, ingestor.Ingest, new ExportTraceServiceResponse()));
        app.MapPost("/v1/logs", (HttpContext ctx, OtlpIngestor ingestor) =>
            Handle(ctx, ExportLogsServiceRequest.Parser, ingestor.Ingest, new ExportLogsServiceResponse()));
        app.MapPost("/v1/metrics", (HttpContext ctx, OtlpIngestor ingestor) =>
            Handle(ctx, ExportMetricsServiceRequest.Parser, ingestor.Ingest, new ExportMetricsServiceResponse()));
    }

    private static async Task<IResult> Handle<TRequest>(HttpContext ctx, MessageParser<TRequest> parser, Action<TRequest> ingest, IMessage response)
        where TRequest : IMessage<TRequest>
    {
        var mediaType = ctx.Request.ContentType?.Split(';')[0].Trim();
        if (!string.Equals(mediaType, Protobuf, StringComparison.OrdinalIgnoreCase) && !string.Equals(mediaType, "application/protobuf", StringComparison.OrdinalIgnoreCase))
            return TypedResults.Problem($"Unsupported content type '{ctx.Request.ContentType}'; this receiver accepts {Protobuf} only.",
                statusCode: StatusCodes.Status415UnsupportedMediaType);

        var body = new MemoryStream();
        try
        {
            var encoding = ctx.Request.Headers.ContentEncoding.ToString();
            if (encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
            {
                await using var gzip = new GZipStream(ctx.Request.Body, CompressionMode.Decompress);
                await CopyBoundedAsync(gzip, body, ctx.RequestAborted);
            }
            else if (encoding.Length == 0 || encoding.Equals("identity", StringComparison.OrdinalIgnoreCase))
            {
                await CopyBoundedAsync(ctx.Request.Body, body, ctx.RequestAborted);
            }
            else
            {
                return TypedResults.Problem($"Unsupported content encoding '{encoding}'.", statusCode: StatusCodes.Status415UnsupportedMediaType);
            }
        }
        catch (InvalidDataException ex)
        {
            return TypedResults.Problem("Request body could not be read: " + ex.Message, statusCode: StatusCodes.Status400BadRequest);
        }

        TRequest request;
        try
        {
            body.Position = 0;
            request = parser.ParseFrom(body);
        }
        catch (InvalidProtocolBufferException ex)
        {
            return TypedResults.Problem("Request body is not a valid OTLP protobuf message: " + ex.Message, statusCode: StatusCodes.Status400BadRequest);
        }
        ingest(request);
        return TypedResults.Bytes(response.ToByteArray(), Protobuf);
    }

    private static async Task CopyBoundedAsync(Stream source, MemoryStream target, CancellationToken ct)
    {
        var buffer = new byte[81920];
        int read;
        while ((read = await source.ReadAsync(buffer, ct)) > 0)
        {
            if (target.Length + read > MaxInflatedBytes) throw new InvalidDataException($"body larger than {MaxInflatedBytes} bytes");
            target.Write(buffer, 0, read);
        }
    }
}
