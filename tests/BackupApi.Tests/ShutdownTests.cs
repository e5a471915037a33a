using TestSupport;

namespace BackupApi.Tests;

public class ShutdownTests
{
    [Fact]
    public async Task An_app_whose_otlp_endpoint_is_gone_still_stops_by_itself_within_the_orchestrators_grace()
    {
        await using var api = await BackupApiProcess.StartAsync(FreePort.Next(), UnreachableTelemetry.Environment());

        // Its start-up logs are still queued for export when it is told to stop.
        await UnreachableTelemetry.AssertStopsByItselfAsync(api.Process);
    }
}
