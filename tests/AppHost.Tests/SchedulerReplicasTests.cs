using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Platform.Hosting.Dapr;
using TestSupport;

namespace AppHost.Tests;

/// <summary>The whole app with <c>--Scheduler:Replicas=3</c>: three scheduler replicas on a three-member etcd cluster.</summary>
public sealed class SchedulerReplicasTests
{
    // With RunningApp.StartTimeout (2 min), at most 3 min 20 s in all; about 80 s when nothing goes wrong.
    private static readonly TimeSpan BackupTimeout = TimeSpan.FromSeconds(35);
    private static readonly TimeSpan JobsViewTimeout = TimeSpan.FromSeconds(10);
    private static readonly TimeSpan ReplicaDownTimeout = TimeSpan.FromSeconds(35);

    [EtcdFact]
    public async Task Three_replicas_on_a_three_member_etcd_cluster_become_healthy_and_the_demo_job_makes_backups()
    {
        await using var app = await RunningApp.StartAsync(["--Scheduler:Replicas=3", "--Demo:Schedule=@every 2s", "--Demo:Repeats=1000", "--Demo:KeepLast=100"]);

        // Every member and replica is its own resource, nested under the scheduler, and healthy (StartAsync waited for it).
        Assert.True(app.Notifications.TryGetCurrentState("scheduler", out var group));
        Assert.Equal(DaprSchedulerReplicasResource.ResourceTypeName, group.Snapshot.ResourceType);
        Assert.Equal(HealthStatus.Healthy, group.Snapshot.HealthStatus);
        foreach (var name in new[] { "etcd-0", "etcd-1", "etcd-2", "scheduler-0", "scheduler-1", "scheduler-2" })
        {
            Assert.True(app.Notifications.TryGetCurrentState(name, out var member), name);
            Assert.Equal(HealthStatus.Healthy, member.Snapshot.HealthStatus);
            Assert.Equal(group.ResourceId, member.Snapshot.Properties.Single(p => p.Name == "resource.parentName").Value);
        }

        // Each replica on the cluster, not on a SQLite file; each worker sidecar connected to all three.
        for (var i = 0; i < 3; i++)
        {
            var args = (await File.ReadAllTextAsync($"/proc/{app.ProcessIdOf($"scheduler-{i}")}/cmdline")).Split('\0');
            Assert.Contains("--etcd-embed=false", args);
            Assert.Equal(3, args[Array.IndexOf(args, "--etcd-client-endpoints") + 1].Split(',').Length);
            Assert.Equal($"dapr-scheduler-server-{i}", args[Array.IndexOf(args, "--id") + 1]);
        }
        var sidecar = (await File.ReadAllTextAsync($"/proc/{app.ProcessIdOf("backupworker-dapr")}/cmdline")).Split('\0');
        Assert.Equal(3, sidecar[Array.IndexOf(sidecar, "--scheduler-host-address") + 1].Split(',').Length);

        // The demo job, stored in etcd, triggers the worker, and a verified backup lands.
        using var api = app.CreateHttpClient("backupapi");
        var backups = await Poll.UntilAsync(async () =>
        {
            var list = await api.GetJsonAsync("/backups?schedule=prod-db-backup");
            return list.GetArrayLength() >= 1 ? list : (JsonElement?)null;
        }, BackupTimeout, "a backup of prod-db-backup");
        var backup = backups.EnumerateArray().First();
        Assert.Equal("job", backup.GetProperty("trigger").GetString());
        BackupAssertions.AssertVerifiedSqliteBackup(backup, app.DataDirectory);
        Assert.True(Directory.Exists(Path.Combine(app.DataDirectory, "etcd", "etcd-0", "member")), "etcd keeps its data under the data directory");

        // The dashboard's jobs view reads the replicas: the job shows once, under the group, with its triggers.
        var shown = await WaitForJobAsync(app, e => Count(e) >= 1, JobsViewTimeout);
        Assert.Equal(group.ResourceId, shown.Snapshot.Properties.Single(p => p.Name == "resource.parentName").Value);

        // One replica stopped from the dashboard: the view carries on with the others' answers.
        var commands = app.App.Services.GetRequiredService<ResourceCommandService>();
        var stopped = await commands.ExecuteCommandAsync("scheduler-0", KnownResourceCommands.StopCommand);
        Assert.True(stopped.Success, stopped.Message);
        await app.Notifications.WaitForResourceAsync("scheduler-0", KnownResourceStates.TerminalStates).WaitAsync(ReplicaDownTimeout);
        var before = Count(await WaitForJobAsync(app, _ => true, JobsViewTimeout));
        await WaitForJobAsync(app, e => Count(e) > before, ReplicaDownTimeout);
    }

    private static async Task<ResourceEvent> WaitForJobAsync(RunningApp app, Func<ResourceEvent, bool> predicate, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        await foreach (var e in app.Notifications.WatchAsync(cts.Token))
            if (e.Resource is DaprJobResource { Name: "prod-db-backup" } && predicate(e)) return e;
        throw new TimeoutException("prod-db-backup in the jobs view");
    }

    private static int Count(ResourceEvent e)
        => int.Parse(e.Snapshot.Properties.Single(p => p.Name == "Triggers so far").Value!.ToString()!, System.Globalization.CultureInfo.InvariantCulture);
}
