using System.Net;
using System.Text.Json;
using TestSupport;

namespace Platform.Sidecar.Tests;

/// <summary>
/// §7 case 50 with the real scheduler and sidecar: while the app's health check fails the sidecar holds no job stream,
/// so an "@every 1s" job delivers nothing (the scheduler stages its triggers); once the app is healthy triggers resume,
/// and turning unhealthy again closes the stream. "Nothing delivered" is the scheduler's own statement (the job is
/// staged: due, and held for want of a consumer), not a quiet period.
/// </summary>
[Collection(IntegrationCollection.Name)]
public sealed class AppHealthDeliveryTests(SchedulerFixture fixture)
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    private static async Task<JsonElement> MetadataAsync(HttpClient http)
    {
        using var doc = JsonDocument.Parse(await http.GetStringAsync("/v1.0/metadata"));
        return doc.RootElement.Clone();
    }

    [Fact]
    public async Task Triggers_are_held_while_the_app_is_unhealthy_and_resume_when_it_recovers()
    {
        await using var app = await HttpTestApp.StartAsync();
        app.HealthzStatus = 503;
        var appId = Sidecars.UniqueAppId("health");
        // Threshold 1 and a generous probe timeout: one slow probe on a loaded machine must not flip the state.
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = app.Port,
            SchedulerHostAddress = fixture.Scheduler.HostAddress,
            ExtraArgs = ["--enable-app-health-check", "--app-health-probe-interval", "1", "--app-health-probe-timeout", "5000",
                "--app-health-threshold", "1"],
        });
        using var http = sidecar.HttpClient();

        await sidecar.Process.WaitForOutputAsync(l => l.Contains("App health changed: unhealthy"), Wait);
        var metadata = await MetadataAsync(http);
        Assert.Equal("unhealthy", metadata.GetProperty("extended").GetProperty("appHealth").GetString());
        Assert.Equal("/healthz", metadata.GetProperty("appConnectionProperties").GetProperty("health").GetProperty("healthCheckPath").GetString());
        Assert.Equal(0, metadata.GetProperty("scheduler").GetProperty("connected_addresses").GetArrayLength());

        Assert.Equal(HttpStatusCode.NoContent, (await http.PostJobAsync("tick", """{"schedule":"@every 1s","data":"t"}""")).StatusCode);
        var held = await fixture.WaitForStagedAsync(appId, "tick");
        Assert.Equal(0u, held.Count);
        Assert.False(app.Jobs.Reader.TryRead(out _), "a trigger was delivered while the app was unhealthy");
        Assert.Equal("unhealthy", (await MetadataAsync(http)).GetProperty("extended").GetProperty("appHealth").GetString());

        app.HealthzStatus = 200;
        await sidecar.Process.WaitForOutputAsync(l => l.Contains("App health changed: healthy"), Wait);
        var first = await app.Jobs.NextAsync(Wait, "first trigger after the app recovered");
        Assert.Equal("/job/tick", first.Path);
        Assert.Equal("healthy", (await MetadataAsync(http)).GetProperty("extended").GetProperty("appHealth").GetString());

        // Unhealthy again: the stream closes (the line only exists once a stream was open), then triggers are held.
        app.HealthzStatus = 503;
        await sidecar.Process.WaitForOutputAsync(l => l.Contains("closed: app is not healthy"), Wait);
        // The next tick finds no consumer and is held: the scheduler sends this app nothing more while it is unhealthy.
        // (A delivery the sidecar had already started when the stream closed may still land; it was sent before.)
        await fixture.WaitForStagedAsync(appId, "tick");
        Assert.Equal(0, (await MetadataAsync(http)).GetProperty("scheduler").GetProperty("connected_addresses").GetArrayLength());

        Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync("/v1.0/jobs/tick")).StatusCode);
    }

    [Fact]
    public async Task Grpc_app_is_probed_with_AppCallbackHealthCheck_and_gets_triggers_only_once_healthy()
    {
        await using var app = await GrpcTestApp.StartAsync(healthCheck: true);
        app.Healthy = false;
        var appId = Sidecars.UniqueAppId("health-grpc");
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = app.Port,
            AppProtocol = "grpc",
            SchedulerHostAddress = fixture.Scheduler.HostAddress,
            ExtraArgs = ["--enable-app-health-check=true", "--app-health-probe-interval", "1", "--app-health-probe-timeout", "5000",
                "--app-health-threshold", "1"],
        });
        await sidecar.Process.WaitForOutputAsync(l => l.Contains("App health changed: unhealthy"), Wait);
        await sidecar.GrpcClient().ScheduleJobAsync(new Dapr.Client.Autogen.Grpc.v1.ScheduleJobRequest
        {
            Job = new Dapr.Client.Autogen.Grpc.v1.Job { Name = "once", DueTime = "0s" },
        });
        await fixture.WaitForStagedAsync(appId, "once");
        Assert.False(app.Jobs.Reader.TryRead(out _), "a trigger was delivered while the app was unhealthy");

        app.Healthy = true;
        await sidecar.Process.WaitForOutputAsync(l => l.Contains("App health changed: healthy"), Wait);
        var received = await app.Jobs.NextAsync(Wait, "the staged trigger after the app recovered");
        Assert.Equal("once", received.Request.Name);
    }
}
