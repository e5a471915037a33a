using TestSupport;

namespace Platform.Scheduler.Tests.Integration;

public class ProcessTests
{
    [Fact]
    public async Task Starts_serves_healthz_and_stops_cleanly_on_sigterm()
    {
        await using var scheduler = await SchedulerProcess.StartAsync();
        using var http = new HttpClient();
        var response = await http.GetAsync($"http://127.0.0.1:{scheduler.HealthzPort}/healthz");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(0, await scheduler.StopAsync());
    }

    [Fact]
    public async Task With_its_otlp_endpoint_gone_it_still_stops_by_itself_within_the_orchestrators_grace()
    {
        await using var scheduler = await SchedulerProcess.StartAsync(environment: UnreachableTelemetry.Environment());

        // Its start-up logs are still queued for export when it is told to stop.
        await UnreachableTelemetry.AssertStopsByItselfAsync(scheduler.Process);
    }
}
