using System.Net;
using System.Text;
using System.Threading.Channels;
using Google.Protobuf.WellKnownTypes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Logging;
using Platform.SchedulerProtocol;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>With OTEL_EXPORTER_OTLP_ENDPOINT set, the sidecar exports its trigger spans and metrics over OTLP.</summary>
public sealed class TelemetryTests
{
    private sealed record OtlpPost(string Path, byte[] Body)
    {
        public bool Contains(string text) => Encoding.UTF8.GetString(Body).Contains(text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Trigger_span_continues_the_scheduler_trace_and_metrics_are_exported()
    {
        // A minimal OTLP/HTTP receiver: records every export request.
        var posts = Channel.CreateUnbounded<OtlpPost>();
        var otlpPort = FreePort.Next();
        var builder = WebApplication.CreateBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, otlpPort, l => l.Protocols = HttpProtocols.Http1));
        await using var receiver = builder.Build();
        receiver.Run(async context =>
        {
            using var buffer = new MemoryStream();
            await context.Request.Body.CopyToAsync(buffer);
            await posts.Writer.WriteAsync(new OtlpPost(context.Request.Path.Value ?? "", buffer.ToArray()));
            context.Response.StatusCode = 200;
        });
        await receiver.StartAsync();

        var fake = new FakeScheduler();
        await using var _ = fake;
        await fake.StartAsync();
        await using var app = await HttpTestApp.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("otel-app")
        {
            AppPort = app.Port,
            SchedulerHostAddress = $"127.0.0.1:{fake.Port}",
            Environment = new Dictionary<string, string?>
            {
                ["OTEL_EXPORTER_OTLP_ENDPOINT"] = $"http://127.0.0.1:{otlpPort}",
                ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
                ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
                ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
                ["OTEL_SERVICE_NAME"] = "otel-app-dapr",
            },
        });
        await fake.Initials.NextAsync(TimeSpan.FromSeconds(15), "initial");
        const string traceId = "4bf92f3577b34da6a3ce929d0e0e4736";
        fake.Trigger(new WatchJobsResponse { Id = 1, Name = "otel-job", Data = Any.Pack(Value.ForNumber(1)),
            TraceContext = { ["traceparent"] = $"00-{traceId}-00f067aa0ba902b7-01" } });
        await fake.Results.NextAsync(TimeSpan.FromSeconds(15), "result");
        var delivered = await app.Jobs.NextAsync(TimeSpan.FromSeconds(15), "delivery");
        Assert.StartsWith($"00-{traceId}-", delivered.Headers["traceparent"]);

        var traceIdBytes = Convert.FromHexString(traceId);
        bool sawSpan = false, sawMetric = false;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        while (!(sawSpan && sawMetric))
        {
            var post = await posts.Reader.ReadAsync(cts.Token);
            if (post.Path == "/v1/traces" && post.Contains("job trigger otel-job") && post.Body.AsSpan().IndexOf(traceIdBytes) >= 0) sawSpan = true;
            if (post.Path == "/v1/metrics" && post.Contains("sidecar.jobs.triggers") && post.Contains("sidecar.jobs.delivery.duration")) sawMetric = true;
        }
        await receiver.StopAsync();
    }
}
