using TestSupport;

namespace BackupApi.Tests;

public class ShutdownTests
{
    [Fact]
    public async Task An_app_whose_otlp_endpoint_is_gone_still_stops_by_itself_within_the_orchestrators_grace()
    {
        await using var api = await BackupApiProcess.StartAsync(FreePort.Next(), UnreachableTelemetry.Environment());

        // Its start-up logs are still queued for export when it is told to stop.
        var exitCode = await api.Process.StopAsync(UnreachableTelemetry.OrchestratorGrace);

        Assert.True(exitCode == 0, $"exit code {exitCode}: killed after {UnreachableTelemetry.OrchestratorGrace.TotalSeconds} s rather than stopped");
    }
}
