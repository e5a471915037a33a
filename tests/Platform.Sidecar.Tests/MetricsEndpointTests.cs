using System.Net;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>daprd's metrics server (--enable-metrics, --metrics-port, --metrics-listen-address) on a real sidecar.</summary>
[Collection(IntegrationCollection.Name)]
public sealed class MetricsEndpointTests(SchedulerFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Metrics_port_serves_prometheus_text_without_a_token_and_nothing_else()
    {
        const string token = "metrics-s3cret";
        var metricsPort = FreePort.Next();
        await using var sidecar = await Sidecars.StartAsync(fixture, Sidecars.UniqueAppId("metrics"),
            environment: new Dictionary<string, string?> { ["DAPR_API_TOKEN"] = token },
            extraArgs: ["--metrics-port", metricsPort.ToString()]);
        await sidecar.Process.WaitForOutputAsync(l => l.Contains($"metrics 127.0.0.1:{metricsPort};"), Wait);
        using var api = sidecar.HttpClient();
        api.DefaultRequestHeaders.Add("dapr-api-token", token);
        var scheduled = await api.PostJobAsync("metrics-job", """{"dueTime":"1h"}""");
        Assert.Equal(HttpStatusCode.NoContent, scheduled.StatusCode);

        using var scraper = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{metricsPort}"), Timeout = Wait };
        using var scrape = await scraper.GetAsync("/metrics");
        var text = await scrape.Content.ReadAsStringAsync();
        Assert.True(scrape.StatusCode == HttpStatusCode.OK, $"{(int)scrape.StatusCode}: {text}");
        Assert.Equal("text/plain", scrape.Content.Headers.ContentType?.MediaType);
        Assert.Contains(scrape.Content.Headers.ContentType!.Parameters, p => p.Name == "version" && p.Value == "0.0.4");
        // SidecarMetrics' "sidecar.jobs.scheduled" counter in Prometheus naming, and the API request counter.
        Assert.Contains("# TYPE sidecar_jobs_scheduled_total counter", text);
        Assert.Matches(@"(?m)^sidecar_jobs_scheduled_total\{[^}]*\} 1(\.0)?( \d+)?$", text);
        Assert.Contains("sidecar_api_requests_total{", text);

        // Only GET /metrics on the metrics port; /metrics is not part of the dapr HTTP API.
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync("/v1.0/healthz")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.GetAsync("/v1.0/metadata")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await scraper.PostAsync("/metrics", new StringContent(""))).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.GetAsync("/metrics")).StatusCode);
    }
}
