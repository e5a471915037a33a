using Platform.Security;
using TestSupport;

namespace Platform.Sidecar.Tests;

public sealed class SidecarSchedulerIdentityTests
{
    [Fact]
    public async Task A_sidecar_opens_no_job_stream_to_a_server_that_is_not_the_scheduler()
    {
        // Certified by the same authority, but as an app, not as dapr-scheduler.
        var impostor = new FakeScheduler(new SpiffeId(SpiffeId.DefaultControlPlaneTrustDomain, SpiffeId.DefaultControlPlaneNamespace, "not-the-scheduler"));
        await using var _ = impostor;
        await impostor.StartAsync();
        await using var sidecar = await SidecarProcess.StartAsync(new SidecarSettings("wary-app") { SchedulerHostAddress = $"127.0.0.1:{impostor.Port}" });
        // The first call to it (WatchHosts, the sidecar's discovery of the scheduler replicas) is refused at the handshake.
        await sidecar.Process.WaitForOutputAsync(l => l.Contains($"Watching scheduler hosts on 127.0.0.1:{impostor.Port} failed"), TimeSpan.FromSeconds(30));
        Assert.False(impostor.Initials.Reader.TryRead(out var initial), $"the sidecar announced {initial?.AppId} to an impostor");
    }
}
