using Microsoft.Extensions.DependencyInjection;

namespace AppHost.Tests;

/// <summary>Scheduler replicas on a machine without etcd: the members fail visibly, saying what to install, and nothing stalls silently.</summary>
public sealed class EtcdMissingTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task Without_etcd_the_members_fail_to_start_naming_the_package_and_the_replicas_wait()
    {
        await using var app = await RunningApp.StartAsync(["--Scheduler:Replicas=3", "--Dapr:EtcdPath=/nonexistent/etcd"], waitUntilHealthy: false);
        using var cts = new CancellationTokenSource(Timeout);
        foreach (var member in new[] { "etcd-0", "etcd-1", "etcd-2" })
            await app.Notifications.WaitForResourceAsync(member, KnownResourceStates.FailedToStart, cts.Token);
        await app.Notifications.WaitForResourceAsync("scheduler", KnownResourceStates.FailedToStart, cts.Token);

        // The member's console in the dashboard says why and what to do.
        var model = app.App.Services.GetRequiredService<DistributedApplicationModel>();
        var logs = app.App.Services.GetRequiredService<ResourceLoggerService>();
        string? said = null;
        await foreach (var batch in logs.WatchAsync(model.Resources.Single(r => r.Name == "etcd-0")).WithCancellation(cts.Token))
            if (batch.FirstOrDefault(l => l.Content.Contains("apt-get install etcd-server", StringComparison.Ordinal)) is { } line)
            {
                said = line.Content;
                break;
            }
        Assert.Contains("/nonexistent/etcd", said);

        // The replicas never start without their store: Aspire stops waiting for a member that failed to start and
        // marks its waiters failed too (they start with the members, from the dashboard, once etcd is installed).
        foreach (var replica in new[] { "scheduler-0", "scheduler-1", "scheduler-2" })
        {
            var state = await app.Notifications.WaitForResourceAsync(replica, e => e.Snapshot.State?.Text is not (null or "Starting" or "Waiting"), cts.Token);
            Assert.Equal(KnownResourceStates.FailedToStart, state.Snapshot.State?.Text);
            Assert.DoesNotContain(state.Snapshot.Properties, p => p.Name == "executable.pid" && p.Value is not null);
        }
    }
}
