using Platform.Sidecar.Hosting;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;
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

/// <summary>The metrics flags on a sidecar process that needs no scheduler.</summary>
public sealed class SidecarFlagProcessTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task Enable_metrics_false_leaves_the_metrics_port_closed()
    {
        var metricsPort = FreePort.Next();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(Sidecars.UniqueAppId("no-metrics"))
        {
            ExtraArgs = ["--enable-metrics=false", "--metrics-port", metricsPort.ToString()],
        });
        // Logged once every listener and hosted service has started.
        await sidecar.Process.WaitForOutputAsync(l => l.Contains("metrics off;"), Wait);

        using var client = new TcpClient();
        var refused = await Assert.ThrowsAsync<SocketException>(() => client.ConnectAsync(IPAddress.Loopback, metricsPort).WaitAsync(Wait));
        Assert.Equal(SocketError.ConnectionRefused, refused.SocketErrorCode);
    }

    [Theory]
    [InlineData("0", "invalid value \"0\" for flag --metrics-port: want a port number from 1 to 65535")]
    [InlineData("http-port", "is also the dapr HTTP port")]
    public async Task Unusable_metrics_port_values_exit_with_code_2(string value, string message)
    {
        var httpPort = FreePort.Next().ToString();
        var (exitCode, output) = await RunToExitAsync("--dapr-http-port", httpPort, "--metrics-port", value == "http-port" ? httpPort : value);
        Assert.Equal(2, exitCode);
        Assert.Contains(message, output);
    }

    [Fact]
    public async Task An_unknown_flag_exits_with_code_2_as_daprd_does()
    {
        var (exitCode, output) = await RunToExitAsync("--app-id", "x", "--no-such-flag", "1");
        Assert.Equal(2, exitCode);
        Assert.Contains("unknown flag: --no-such-flag", output);
    }

    [Fact]
    public async Task A_taken_explicit_metrics_port_stops_the_sidecar_as_daprd_does()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var (exitCode, output) = await RunToExitAsync("--dapr-http-port", FreePort.Next().ToString(), "--dapr-grpc-port", FreePort.Next().ToString(),
            "--scheduler-host-address", "", "--metrics-port", port.ToString());
        Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{output}");
        Assert.Contains($"failed to start metrics server on 127.0.0.1:{port}: ", output);
    }

    /// <summary>Runs a sidecar that is expected to end by itself; its exit code and all of its output.</summary>
    private static async Task<(int ExitCode, string Output)> RunToExitAsync(params string[] args)
    {
        await using var sidecar = TestProcess.StartDotnet("sidecar", RepoPaths.ProjectOutput("Platform/Sidecar", "Platform.Sidecar"), args);
        var exitCode = await sidecar.WaitForExitAsync(Wait);
        return (exitCode, string.Join(Environment.NewLine, sidecar.Output));
    }
}

/// <summary>The metrics server in-process: a taken default port is tolerated, a taken explicit one is not.</summary>
public sealed class MetricsServerTests
{
    [Fact]
    public async Task A_taken_port_is_only_fatal_when_it_was_asked_for()
    {
        using var meterProvider = Sdk.CreateMeterProviderBuilder().AddPrometheusExporter().Build();
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;

        await using var byDefault = new MetricsServer(IPAddress.Loopback, port, portRequired: false, meterProvider, NullLoggerFactory.Instance);
        await byDefault.StartAsync(CancellationToken.None);
        Assert.Null(byDefault.Endpoint);
        await byDefault.StopAsync(CancellationToken.None);

        await using var explicitPort = new MetricsServer(IPAddress.Loopback, port, portRequired: true, meterProvider, NullLoggerFactory.Instance);
        var ex = await Assert.ThrowsAsync<MetricsServerException>(() => explicitPort.StartAsync(CancellationToken.None));
        Assert.StartsWith($"failed to start metrics server on 127.0.0.1:{port}: ", ex.Message);
    }

    [Fact]
    public void Metrics_flags_use_daprd_names_defaults_and_refuse_unusable_values()
    {
        var defaults = new SidecarOptions();
        Assert.True(defaults.EnableMetrics);
        Assert.Null(defaults.MetricsPort);
        Assert.Equal(9090, defaults.MetricsPortNumber);
        Assert.Equal("127.0.0.1", defaults.MetricsListenAddress);
        Assert.Null(defaults.Validate());

        var o = Flags.Bind("--metrics-port", "9091", "-metrics-listen-address=::1", "--app-id", "a");
        Assert.Equal((true, 9091, 9091, "::1"), (o.EnableMetrics, o.MetricsPort, o.MetricsPortNumber, o.MetricsListenAddress));
        Assert.Equal(9092, Flags.Bind("--metrics-port=9092").MetricsPortNumber);
        Assert.Equal(IPAddress.Loopback, SidecarFlags.TryParseListenAddress("localhost", out var ip) ? ip : null);

        // Bool flag in Go's forms: bare = true, "=false", a following true/false word, 0/1/t/f.
        Assert.False(Flags.Bind("--enable-metrics=false").EnableMetrics);
        Assert.False(Flags.Bind("--enable-metrics", "false", "--app-id", "b").EnableMetrics);
        Assert.False(Flags.Bind("--enable-metrics=0").EnableMetrics);
        Assert.False(Flags.Bind("-enable-metrics=F").EnableMetrics);
        Assert.True(Flags.Bind("--enable-metrics=false", "--enable-metrics").EnableMetrics);
        Assert.True(Flags.Bind("--enable-metrics=1").EnableMetrics);
        Assert.Equal(["--Sidecar:EnableMetrics=true", "--Sidecar:MetricsPort=9091", "--Sidecar:MetricsListenAddress=127.0.0.1"],
            SidecarFlags.Normalise(["--enable-metrics", "--metrics-port", "9091", "--metrics-listen-address", "127.0.0.1"]));

        foreach (var (args, message) in new (string[], string)[]
        {
            (["--metrics-port", "0"], "invalid value \"0\" for flag --metrics-port: want a port number from 1 to 65535"),
            (["--metrics-port=65536"], "invalid value \"65536\" for flag --metrics-port"),
            (["--metrics-port", "-1"], "invalid value \"-1\" for flag --metrics-port"),
            (["--metrics-port", "abc"], "invalid value \"abc\" for flag --metrics-port"),
            (["--metrics-port="], "invalid value \"\" for flag --metrics-port"),
            (["--enable-metrics=maybe"], "invalid value \"maybe\" for flag --enable-metrics: want true or false"),
            (["--metrics-listen-address", "not-an-ip"], "invalid value \"not-an-ip\" for flag --metrics-listen-address"),
            (["--metrics-port"], "flag needs an argument: --metrics-port"),
        })
            Assert.StartsWith(message, Assert.Throws<ArgumentException>(() => SidecarFlags.Normalise(args)).Message);

        // Valid alone, not together: the metrics port may not be one of the API ports (unless metrics are off).
        Assert.Equal("--metrics-port 3500 is also the dapr HTTP port", new SidecarOptions { MetricsPort = 3500 }.Validate());
        Assert.Equal("--metrics-port 50001 is also the dapr gRPC port", new SidecarOptions { MetricsPort = 50001 }.Validate());
        Assert.Null(new SidecarOptions { MetricsPort = 3500, EnableMetrics = false }.Validate());
    }
}
