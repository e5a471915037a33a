using TestSupport;

namespace Benchmarks;

/// <summary>Scheduler + sidecar + app, all on loopback; disposing ends both processes and the app.</summary>
internal sealed class SidecarStack : IAsyncDisposable
{
    public required SchedulerProcess Scheduler { get; init; }
    public required SidecarProcess Sidecar { get; init; }
    public required JobApp App { get; init; }

    /// <param name="mtls">false: sidecar and scheduler talk h2c, without the Sentry's certificates (to measure what mTLS costs).</param>
    public static async Task<SidecarStack> StartAsync(string appId, bool mtls = true)
    {
        var app = await JobApp.StartAsync();
        SchedulerProcess? scheduler = null;
        SidecarProcess? sidecar = null;
        try
        {
            scheduler = await SchedulerProcess.StartAsync(extraArgs: ["--log-level", "warn"], environment: Machine.ChildEnvironment, mtls: mtls);
            sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
            {
                Mtls = mtls,
                AppPort = app.Port,
                SchedulerHostAddress = scheduler.HostAddress,
                LogLevel = "info",
                Environment = Machine.ChildEnvironment,
            });
            await sidecar.WaitForSchedulerStreamAsync();
            Machine.Note($"scheduler pid {scheduler.Process.Id}, sidecar pid {sidecar.Process.Id}");
            return new SidecarStack { Scheduler = scheduler, Sidecar = sidecar, App = app };
        }
        catch
        {
            await Owned.DisposeAllAsync(sidecar, scheduler, app);
            throw;
        }
    }

    public ValueTask DisposeAsync() => Owned.DisposeAllAsync(Sidecar, Scheduler, App);
}
