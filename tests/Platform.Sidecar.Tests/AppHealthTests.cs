using Platform.Sidecar.AppChannel;
using Platform.Sidecar.Hosting;
using System.Threading.Channels;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace Platform.Sidecar.Tests;

/// <summary>The app health state machine and its probe loop (daprd's --enable-app-health-check), on a fake clock.</summary>
public sealed class AppHealthTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);

    private static IOptions<SidecarOptions> Options(int threshold = 3, int interval = 5, int timeoutMs = 500) => Microsoft.Extensions.Options.Options.Create(
        new SidecarOptions
        {
            AppPort = "5000",
            EnableAppHealthCheck = true,
            AppHealthThreshold = threshold,
            AppHealthProbeInterval = interval,
            AppHealthProbeTimeout = timeoutMs,
        });

    [Fact]
    public async Task Threshold_failures_make_the_app_unhealthy_one_success_makes_it_healthy_and_ends_the_healthy_period()
    {
        var health = new AppHealth(Options(threshold: 3), NullLogger<AppHealth>.Instance);
        Assert.True(health.Enabled);
        Assert.Equal(AppHealthStatus.Unknown, health.Status);
        var waiting = health.WhenHealthyAsync(CancellationToken.None);

        Assert.False(health.Report(false));
        Assert.False(health.Report(false));
        Assert.Equal(AppHealthStatus.Unknown, health.Status);
        Assert.True(health.Report(false));
        Assert.Equal(AppHealthStatus.Unhealthy, health.Status);
        Assert.False(health.Report(false));
        Assert.False(waiting.IsCompleted);

        Assert.True(health.Report(true));
        Assert.True(health.IsHealthy);
        Assert.True(waiting.IsCompletedSuccessfully);
        var period = await waiting;
        Assert.False(period.IsCancellationRequested);
        Assert.False(health.Report(true));

        // Failures below the threshold, interrupted by a success, do not count together.
        Assert.False(health.Report(false));
        Assert.False(health.Report(false));
        Assert.False(health.Report(true));
        Assert.False(health.Report(false));
        Assert.False(health.Report(false));
        Assert.False(period.IsCancellationRequested);
        Assert.True(health.Report(false));
        Assert.True(period.IsCancellationRequested);
        Assert.False(health.WhenHealthyAsync(CancellationToken.None).IsCompleted);

        // Recovery opens a new healthy period.
        Assert.True(health.Report(true));
        var next = health.WhenHealthyAsync(CancellationToken.None);
        Assert.True(next.IsCompletedSuccessfully);
        Assert.False((await next).IsCancellationRequested);
    }

    [Fact]
    public void Without_health_checks_or_without_an_app_port_the_app_is_always_healthy()
    {
        var off = new AppHealth(Microsoft.Extensions.Options.Options.Create(new SidecarOptions { AppPort = "5000" }), NullLogger<AppHealth>.Instance);
        Assert.False(off.Enabled);
        Assert.True(off.IsHealthy);
        Assert.True(off.WhenHealthyAsync(CancellationToken.None).IsCompletedSuccessfully);
        var noPort = new AppHealth(Microsoft.Extensions.Options.Options.Create(new SidecarOptions { EnableAppHealthCheck = true }), NullLogger<AppHealth>.Instance);
        Assert.False(noPort.Enabled);
        Assert.True(noPort.IsHealthy);
    }

    private sealed class ScriptedApp : IAppChannel
    {
        public Channel<(string Path, TaskCompletionSource<bool> Answer)> Probes { get; } = Channel.CreateUnbounded<(string, TaskCompletionSource<bool>)>();

        public Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct) => Task.FromResult(true);

        public async Task<bool> ProbeHealthAsync(string path, CancellationToken ct)
        {
            var answer = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            await Probes.Writer.WriteAsync((path, answer), ct);
            return await answer.Task.WaitAsync(ct);
        }
    }

    [Fact]
    public async Task Monitor_probes_on_the_interval_counts_timeouts_as_failures_and_recovers()
    {
        var time = new FakeTimeProvider(DateTimeOffset.Parse("2026-01-01T00:00:00Z"));
        var options = Options(threshold: 2, interval: 5, timeoutMs: 500);
        var health = new AppHealth(options, NullLogger<AppHealth>.Instance);
        var app = new ScriptedApp();
        using var monitor = new AppHealthMonitor(health, app, options, time, NullLogger<AppHealthMonitor>.Instance);
        await monitor.StartAsync(CancellationToken.None);
        try
        {
            // The first probe runs at once; healthy.
            var probe = await app.Probes.Reader.ReadAsync().AsTask().WaitAsync(Wait);
            Assert.Equal("/healthz", probe.Path);
            probe.Answer.SetResult(true);
            var period = await health.WhenHealthyAsync(CancellationToken.None).WaitAsync(Wait);
            var periodEnded = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            period.Register(() => periodEnded.TrySetResult());

            // No further probe before the interval has passed on the (fake) clock.
            time.Advance(TimeSpan.FromSeconds(4));
            Assert.False(app.Probes.Reader.TryRead(out _));
            time.Advance(TimeSpan.FromSeconds(1));
            probe = await app.Probes.Reader.ReadAsync().AsTask().WaitAsync(Wait);
            probe.Answer.SetResult(false);

            // Second consecutive failure: a probe that never answers, ended by the 500 ms probe timeout.
            time.Advance(TimeSpan.FromSeconds(5));
            probe = await app.Probes.Reader.ReadAsync().AsTask().WaitAsync(Wait);
            Assert.True(health.IsHealthy);
            time.Advance(TimeSpan.FromMilliseconds(500));
            await periodEnded.Task.WaitAsync(Wait);
            Assert.Equal(AppHealthStatus.Unhealthy, health.Status);

            // Recovery on the next successful probe.
            var recovered = health.WhenHealthyAsync(CancellationToken.None);
            time.Advance(TimeSpan.FromMilliseconds(4500));
            probe = await app.Probes.Reader.ReadAsync().AsTask().WaitAsync(Wait);
            Assert.False(recovered.IsCompleted);
            probe.Answer.SetResult(true);
            var next = await recovered.WaitAsync(Wait);
            Assert.False(next.IsCancellationRequested);
            Assert.True(health.IsHealthy);
        }
        finally
        {
            await monitor.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public void Health_flags_use_daprd_names_and_the_bare_bool_flag_means_true()
    {
        static SidecarOptions Bind(params string[] args) => Flags.Bind(args);

        var defaults = new SidecarOptions();
        Assert.False(defaults.EnableAppHealthCheck);
        Assert.Equal(("/healthz", 5, 500, 3), (defaults.AppHealthCheckPath, defaults.AppHealthProbeInterval, defaults.AppHealthProbeTimeout, defaults.AppHealthThreshold));

        var o = Bind("--enable-app-health-check", "--app-health-check-path", "/ready", "--app-health-probe-interval", "2",
            "--app-health-probe-timeout=250", "-app-health-threshold", "1", "--app-id", "a");
        Assert.True(o.EnableAppHealthCheck);
        Assert.Equal(("/ready", 2, 250, 1, "a"), (o.AppHealthCheckPath, o.AppHealthProbeInterval, o.AppHealthProbeTimeout, o.AppHealthThreshold, o.AppId));
        Assert.False(Bind("--enable-app-health-check=false").EnableAppHealthCheck);
        Assert.False(Bind("--enable-app-health-check", "false", "--app-id", "b").EnableAppHealthCheck);
        Assert.True(Bind("--app-id", "c", "--enable-app-health-check").EnableAppHealthCheck);
    }
}
