using System.Net;
using System.Net.Sockets;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>The metrics flags, and stopping, on a sidecar process that needs no scheduler.</summary>
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

    [Fact]
    public async Task With_its_otlp_endpoint_gone_it_still_stops_by_itself_within_the_orchestrators_grace()
    {
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(Sidecars.UniqueAppId("otlp-gone"))
        {
            Environment = UnreachableTelemetry.Environment(),
        });

        // Its start-up logs are still queued for export when it is told to stop.
        await UnreachableTelemetry.AssertStopsByItselfAsync(sidecar.Process);
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
