using System.Diagnostics;
using System.Net;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Trace;
using Platform.Dashboard.Otlp.Collector.Logs;

namespace Platform.Dashboard.Tests;

/// <summary>The real dashboard process receiving OTLP from the real OpenTelemetry SDK exporters and raw requests.</summary>
public class OtlpReceiverTests
{
    [Theory]
    [InlineData(OtlpExportProtocol.Grpc)]
    [InlineData(OtlpExportProtocol.HttpProtobuf)]
    public async Task Sdk_exporters_deliver_spans_and_logs_with_the_api_key(OtlpExportProtocol protocol)
    {
        await using var dashboard = await DashboardInstance.StartAsync(apiKey: "otlp-key");
        using var ui = await dashboard.UiClientAsync();

        using (var tracer = OtlpSenders.Tracer(dashboard, "backupworker", "Test.Worker", protocol))
        using (var loggers = OtlpSenders.Logger(dashboard, "backupworker", protocol))
        using (var source = new ActivitySource("Test.Worker"))
        {
            using (var activity = source.StartActivity("backup prod-db")!)
            {
                activity.SetTag("db.name", "my-prod-db");
                loggers.CreateLogger("Worker").LogInformation("Backup of {Database} started", "my-prod-db");
            }
            tracer.ForceFlush();
        }

        var stats = await DashboardInstance.WaitForStatsAsync(ui, s => s.GetProperty("spans").GetInt32() == 1 && s.GetProperty("logs").GetInt32() == 1);
        Assert.Equal(1, stats.GetProperty("resources").GetInt32());
        var logs = await ui.GetStringAsync("/structuredlogs");
        Assert.Contains("Backup of my-prod-db started", logs);
        var traces = await ui.GetStringAsync("/traces");
        Assert.Contains("backupworker: backup prod-db", traces);
    }

    [Fact]
    public async Task Otlp_without_the_api_key_is_refused_on_both_protocols_and_nothing_is_stored()
    {
        await using var dashboard = await DashboardInstance.StartAsync(apiKey: "otlp-key");
        using var ui = await dashboard.UiClientAsync();

        using var http = await OtlpSenders.PostProtobufAsync(dashboard, "/v1/logs", OtlpSenders.Logs("x", 1), apiKey: "wrong");
        Assert.Equal(HttpStatusCode.Unauthorized, http.StatusCode);

        using var channel = GrpcChannel.ForAddress(dashboard.OtlpGrpcUrl);
        var client = new LogsService.LogsServiceClient(channel);
        var error = await Assert.ThrowsAsync<RpcException>(() => client.ExportAsync(OtlpSenders.Logs("x", 1)).ResponseAsync);
        Assert.Equal(Grpc.Core.StatusCode.Unauthenticated, error.StatusCode);

        // With the key both work; afterwards exactly those two records are stored.
        var ok = await client.ExportAsync(OtlpSenders.Logs("x", 1), new Metadata { { "x-otlp-api-key", "otlp-key" } });
        Assert.NotNull(ok);
        using var accepted = await OtlpSenders.PostProtobufAsync(dashboard, "/v1/logs", OtlpSenders.Logs("x", 1), apiKey: "otlp-key");
        Assert.Equal(HttpStatusCode.OK, accepted.StatusCode);
        Assert.Equal(2, (await DashboardInstance.StatsAsync(ui)).GetProperty("logs").GetInt32());
    }

    [Fact]
    public async Task Bad_otlp_http_bodies_get_clear_errors()
    {
        await using var dashboard = await DashboardInstance.StartAsync();
        using var http = new HttpClient();
        using var json = await http.PostAsync(dashboard.OtlpHttpUrl + "/v1/logs", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        Assert.Equal(HttpStatusCode.UnsupportedMediaType, json.StatusCode);
        var garbage = new ByteArrayContent([0xff, 0xff, 0xff]);
        garbage.Headers.ContentType = new("application/x-protobuf");
        using var bad = await http.PostAsync(dashboard.OtlpHttpUrl + "/v1/traces", garbage);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("not a valid OTLP protobuf", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Ports_keep_to_their_jobs()
    {
        await using var dashboard = await DashboardInstance.StartAsync(browserToken: "tok");
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        // The UI port takes no telemetry; the OTLP/HTTP port serves no UI.
        using var otlpOnUi = await OtlpSenders.PostProtobufAsync(new DashboardInstance
        {
            Process = dashboard.Process, UiPort = dashboard.UiPort, GrpcPort = dashboard.GrpcPort, HttpPort = dashboard.UiPort,
        }, "/v1/logs", OtlpSenders.Logs("x", 1), null);
        Assert.Equal(HttpStatusCode.NotFound, otlpOnUi.StatusCode);
        using var uiOnOtlp = await http.GetAsync(dashboard.OtlpHttpUrl + "/structuredlogs");
        Assert.Equal(HttpStatusCode.NotFound, uiOnOtlp.StatusCode);
        using var health = await http.GetAsync(dashboard.UiUrl + "/healthz");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }

    [Fact]
    public async Task Stored_logs_stay_within_the_configured_limit()
    {
        await using var dashboard = await DashboardInstance.StartAsync(environment: new Dictionary<string, string?>
        {
            ["Dashboard__TelemetryLimits__MaxLogCount"] = "50",
        });
        using var ui = await dashboard.UiClientAsync();
        for (var batch = 0; batch < 6; batch++)
        {
            using var r = await OtlpSenders.PostProtobufAsync(dashboard, "/v1/logs", OtlpSenders.Logs("backupworker", 20, batch * 20), null);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
        }
        var stats = await DashboardInstance.StatsAsync(ui);
        Assert.Equal(50, stats.GetProperty("logs").GetInt32());
        Assert.Equal(50, stats.GetProperty("maxLogCount").GetInt32());
        Assert.Equal(70, stats.GetProperty("logsEvicted").GetInt32());
        var page = await ui.GetStringAsync("/structuredlogs");
        Assert.Contains("message #119", page);
        Assert.Contains("message #70<", page);
        Assert.DoesNotContain("message #69<", page);
    }
}
