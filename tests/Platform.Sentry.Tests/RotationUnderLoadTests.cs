using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Platform.Security;
using TestSupport;

namespace Platform.Sentry.Tests;

/// <summary>
/// The whole chain with certificates of seconds: a Sentry, a scheduler and a sidecar that get their identities from it,
/// and an app receiving 200 jobs at 1 Hz while every process renews its certificate at least twice. Every tick arrives,
/// no process logs an error or a warning, and once the Sentry is gone and the certificates lapse, both health endpoints
/// say so with the reason.
/// </summary>
public sealed class RotationUnderLoadTests(Xunit.Abstractions.ITestOutputHelper output)
{
    private readonly System.Diagnostics.Stopwatch _clock = System.Diagnostics.Stopwatch.StartNew();
    private void Mark(string what) => output.WriteLine($"{_clock.Elapsed.TotalSeconds:F1}s {what}");

    private const int Jobs = 200;
    private const int Ticks = 8;
    /// <summary>Renewed at 70 %: every 4.2 s, so two rotations of each process fit in the jobs' 8 s.</summary>
    private const string Lifetime = "6s";

    [Fact]
    public async Task Every_tick_of_200_jobs_arrives_across_rotations_of_every_process_and_expiry_turns_health_red()
    {
        var appId = "rotating-app";
        var schedulerToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var sidecarToken = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32));
        var sentry = await SentryProcess.StartAsync(new Dictionary<SpiffeId, string>
        {
            [SpiffeId.Scheduler()] = schedulerToken,
            [TestIdentity.App(appId)] = sidecarToken,
        }, Lifetime);
        await using var sentryOwned = sentry;
        Mark("sentry up");
        // The CA key was on disk only until the Sentry read it.
        Assert.False(File.Exists(sentry.HandoffFile));

        var received = new ConcurrentDictionary<string, int>();
        var builder = WebApplication.CreateSlimBuilder();
        var appPort = FreePort.Next();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, appPort));
        await using var app = builder.Build();
        app.MapPost("/job/{name}", (string name) =>
        {
            received.AddOrUpdate(name, 1, (_, n) => n + 1);
            return TypedResults.Ok();
        });
        await app.StartAsync();

        await using var scheduler = await SchedulerProcess.StartAsync(extraArgs: ["--sentry-address", sentry.Address],
            environment: new Dictionary<string, string?> { ["DAPR_SENTRY_TOKEN"] = schedulerToken });
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings(appId)
        {
            AppPort = appPort,
            SchedulerHostAddress = scheduler.HostAddress,
            ExtraArgs = ["--sentry-address", sentry.Address],
            Environment = new Dictionary<string, string?> { ["DAPR_SENTRY_TOKEN"] = sidecarToken },
        });
        await sidecar.WaitForSchedulerStreamAsync();
        Mark("sidecar streaming");

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        await Parallel.ForEachAsync(Enumerable.Range(0, Jobs), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            using var response = await http.PostAsJsonAsync($"{sidecar.HttpEndpoint}/v1.0-alpha1/jobs/tick-{i}",
                new { schedule = "@every 1s", repeats = Ticks, data = new { i } }, ct);
            Assert.Equal(HttpStatusCode.NoContent, response.StatusCode);
        });

        Mark("scheduled");
        await Poll.UntilAsync(() => Task.FromResult(received.Values.Sum() >= Jobs * Ticks), TimeSpan.FromSeconds(Ticks + 60),
            $"{Jobs * Ticks} ticks (have {received.Values.Sum()})");
        // Every process rotated at least twice while the ticks flowed (the Sentry's serving certificate: first + 2).
        await Poll.UntilAsync(() => Task.FromResult(Renewals(sidecar.Process) >= 2 && Renewals(scheduler.Process) >= 2
            && Served(sentry.Process) >= 3), TimeSpan.FromSeconds(30),
            $"two rotations each (sidecar {Renewals(sidecar.Process)}, scheduler {Renewals(scheduler.Process)}, sentry {Served(sentry.Process) - 1})");

        Mark("rotated");
        Assert.Equal(Jobs, received.Count);
        Assert.All(received, job => Assert.True(job.Value >= Ticks, $"{job.Key}: {job.Value} of {Ticks} ticks"));
        foreach (var process in new[] { sidecar.Process, scheduler.Process, sentry.Process })
            Assert.DoesNotContain(process.Output, line => line.StartsWith("fail:", StringComparison.Ordinal)
                || line.StartsWith("crit:", StringComparison.Ordinal) || line.StartsWith("warn:", StringComparison.Ordinal));

        // Without the Sentry nothing renews: once the certificates lapse, both processes are unhealthy and say why.
        await sentry.Process.KillAsync();
        Mark("sentry killed");
        using var health = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var sidecarReason = await Poll.UntilAsync(async () =>
        {
            using var response = await health.GetAsync($"{sidecar.HttpEndpoint}/v1.0/healthz");
            return response.StatusCode == HttpStatusCode.InternalServerError ? await response.Content.ReadAsStringAsync() : null;
        }, TimeSpan.FromSeconds(30), "the sidecar's healthz to fail");
        Mark("sidecar red");
        Assert.Contains("ERR_HEALTH_NOT_READY", sidecarReason, StringComparison.Ordinal);
        Assert.Contains($"the certificate of {TestIdentity.App(appId)} expired", sidecarReason, StringComparison.Ordinal);
        Assert.Contains("renewal failing", sidecarReason, StringComparison.Ordinal);
        var schedulerReason = await Poll.UntilAsync(async () =>
        {
            using var response = await health.GetAsync($"http://127.0.0.1:{scheduler.HealthzPort}/healthz");
            return response.StatusCode == HttpStatusCode.ServiceUnavailable ? await response.Content.ReadAsStringAsync() : null;
        }, TimeSpan.FromSeconds(30), "the scheduler's healthz to fail");
        Assert.Contains($"the certificate of {SpiffeId.Scheduler()} expired", schedulerReason, StringComparison.Ordinal);
    }

    private static int Renewals(TestProcess process) => process.Output.Count(l => l.Contains("Renewed the certificate of", StringComparison.Ordinal));

    private static int Served(TestProcess process) => process.Output.Count(l => l.Contains("with a certificate valid until", StringComparison.Ordinal));
}
