using Platform.Sidecar.Hosting;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Logging.Abstractions;
using OpenTelemetry;
using OpenTelemetry.Metrics;

namespace Platform.Sidecar.Tests;

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
