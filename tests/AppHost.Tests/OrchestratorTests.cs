using Microsoft.Extensions.Time.Testing;
using Platform.Hosting;
using Platform.Hosting.Testing;

namespace AppHost.Tests;

/// <summary>The orchestrator with tiny shell executables: ordering, restart, stop of process trees, failure to start.</summary>
public sealed class OrchestratorTests
{
    [Fact]
    public async Task WaitFor_starts_the_dependent_only_after_the_dependency_is_healthy()
    {
        var flag = Path.Combine(Path.GetTempPath(), "apphost-test-" + Guid.NewGuid().ToString("N"));
        await using var builder = DistributedApplicationTestingBuilder.Create();
        var a = builder.AddShell("a", "exec sleep 600").WithHealthCheck(_ => Task.FromResult(File.Exists(flag)));
        builder.AddShell("b", "exec sleep 600").WaitFor(a);
        await using var app = await builder.BuildAsync();

        var events = new List<(string Name, string State, string? Health)>();
        app.ResourceNotifications.Changed += (e, _) => { lock (events) events.Add((e.Resource.Name, e.Snapshot.State, e.Snapshot.HealthStatus)); };
        await app.StartAsync();
        try
        {
            await app.ResourceNotifications.WaitForResourceAsync("a", KnownResourceStates.Running).WaitAsync(TestHelpers.Timeout);
            await app.ResourceNotifications.WaitForResourceAsync("b", KnownResourceStates.Waiting).WaitAsync(TestHelpers.Timeout);
            Assert.True(app.ResourceNotifications.TryGetCurrentState("a", out var aNow));
            Assert.Equal(HealthStatus.Unhealthy, aNow!.Snapshot.HealthStatus);
            Assert.True(app.ResourceNotifications.TryGetCurrentState("b", out var bNow));
            Assert.Equal(KnownResourceStates.Waiting, bNow!.Snapshot.State);

            await File.WriteAllTextAsync(flag, "ready");
            await app.ResourceNotifications.WaitForResourceHealthyAsync("b").WaitAsync(TestHelpers.Timeout);
        }
        finally
        {
            File.Delete(flag);
        }

        lock (events)
        {
            var aHealthy = events.FindIndex(e => e is { Name: "a", Health: HealthStatus.Healthy });
            var bStarting = events.FindIndex(e => e is { Name: "b", State: KnownResourceStates.Starting });
            Assert.True(aHealthy >= 0 && bStarting > aHealthy, string.Join(", ", events));
        }
    }

    [Fact]
    public async Task A_crashing_resource_is_restarted_with_exponential_backoff_and_counted()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var builder = DistributedApplicationTestingBuilder.Create([], o => o.TimeProvider = time);
        builder.AddShell("crasher", "exit 3")
            .WithRestartPolicy(new RestartPolicy { InitialDelay = TimeSpan.FromSeconds(1), MaxDelay = TimeSpan.FromSeconds(4), ResetAfter = TimeSpan.FromHours(1) });
        await using var app = await builder.BuildAsync();
        await app.StartAsync();

        TimeSpan[] expected = [TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(4), TimeSpan.FromSeconds(4)];
        for (var n = 1; n <= expected.Length; n++)
        {
            var restarts = n;
            var exited = await app.ResourceNotifications.WaitForResourceAsync("crasher",
                e => e.Snapshot.State == KnownResourceStates.Exited && e.Snapshot.Restarts == restarts).WaitAsync(TestHelpers.Timeout);
            Assert.Equal(3, exited.Snapshot.ExitCode);

            time.Advance(expected[n - 1] - TimeSpan.FromMilliseconds(1));
            Assert.True(app.ResourceNotifications.TryGetCurrentState("crasher", out var before));
            Assert.Equal((KnownResourceStates.Exited, restarts), (before!.Snapshot.State, before.Snapshot.Restarts));

            time.Advance(TimeSpan.FromMilliseconds(1));
            await app.ResourceNotifications.WaitForResourceAsync("crasher",
                e => e.Snapshot.State != KnownResourceStates.Exited || e.Snapshot.Restarts > restarts).WaitAsync(TestHelpers.Timeout);
        }
    }

    [Fact]
    public void Backoff_doubles_from_the_initial_delay_up_to_the_maximum()
    {
        var policy = new RestartPolicy { InitialDelay = TimeSpan.FromMilliseconds(500), MaxDelay = TimeSpan.FromSeconds(3) };
        Assert.Equal(
            [500, 1000, 2000, 3000, 3000],
            Enumerable.Range(1, 5).Select(n => policy.DelayFor(n).TotalMilliseconds).ToArray());
        Assert.Equal(TimeSpan.FromSeconds(3), policy.DelayFor(1000));
        Assert.Throws<ArgumentOutOfRangeException>(() => policy.DelayFor(0));
    }

    [Fact]
    public async Task A_killed_process_is_restarted_with_a_new_pid()
    {
        await using var builder = DistributedApplicationTestingBuilder.Create();
        builder.AddShell("victim", "exec sleep 600").WithRestartPolicy(new RestartPolicy { InitialDelay = TimeSpan.FromMilliseconds(100) });
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.ResourceNotifications.WaitForResourceAsync("victim", KnownResourceStates.Running).WaitAsync(TestHelpers.Timeout);
        var first = app.GetProcessId("victim")!.Value;

        using (var victim = System.Diagnostics.Process.GetProcessById(first)) victim.Kill();

        var again = await app.ResourceNotifications.WaitForResourceAsync("victim",
            e => e.Snapshot.State == KnownResourceStates.Running && e.Snapshot.Restarts == 1).WaitAsync(TestHelpers.Timeout);
        Assert.NotEqual(first, again.Snapshot.Pid);
        Assert.False(TestHelpers.IsAlive(first));
    }

    [Fact]
    public async Task Stop_ends_the_whole_process_tree_even_when_the_leader_ignores_SIGTERM()
    {
        await using var builder = DistributedApplicationTestingBuilder.Create([], o => o.StopGracePeriod = TimeSpan.FromSeconds(1));
        // The leader ignores SIGTERM (so it needs the SIGKILL after the grace period); it has a child and a grandchild.
        builder.AddShell("tree", """
            trap '' TERM
            sleep 600 & echo "pid $!"
            sh -c 'sleep 600 & echo "pid $!"; wait' & echo "pid $!"
            echo "pid $$"
            echo started
            wait
            """);
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        await app.WaitForLogAsync("tree", l => l == "started");
        // The grandchild's line may arrive after "started".
        await app.WaitForLogAsync("tree", l => app.ResourceLogs.GetLines("tree").Count(x => x.Text.StartsWith("pid ", StringComparison.Ordinal)) >= 4);
        var pids = app.ResourceLogs.GetLines("tree").Where(l => l.Text.StartsWith("pid ", StringComparison.Ordinal))
            .Select(l => TestHelpers.ParseInt(l.Text[4..])).ToList();
        Assert.Equal(4, pids.Count);
        Assert.All(pids, pid => Assert.True(TestHelpers.IsAlive(pid)));

        await app.StopAsync().WaitAsync(TestHelpers.Timeout);

        Assert.All(pids, pid => Assert.False(TestHelpers.IsAlive(pid), $"pid {pid} survived the stop"));
        Assert.True(app.ResourceNotifications.TryGetCurrentState("tree", out var e));
        Assert.Equal(KnownResourceStates.Exited, e!.Snapshot.State);
        Assert.Equal(137, e.Snapshot.ExitCode); // SIGKILL: it ignored SIGTERM
    }

    [Fact]
    public async Task Dispose_stops_everything_it_started()
    {
        List<int> pids;
        {
            await using var builder = DistributedApplicationTestingBuilder.Create();
            builder.AddShell("one", "sleep 600 & echo \"pid $!\"; wait");
            builder.AddShell("two", "exec sleep 600");
            var app = await builder.BuildAsync();
            await app.StartAsync();
            await app.WaitForLogAsync("one", l => l.StartsWith("pid ", StringComparison.Ordinal));
            await app.ResourceNotifications.WaitForResourceAsync("two", KnownResourceStates.Running).WaitAsync(TestHelpers.Timeout);
            pids = [app.GetProcessId("one")!.Value, app.GetProcessId("two")!.Value,
                TestHelpers.ParseInt(app.ResourceLogs.GetLines("one").First(l => l.Text.StartsWith("pid ", StringComparison.Ordinal)).Text[4..])];
            Assert.All(pids, pid => Assert.True(TestHelpers.IsAlive(pid)));
        } // the testing builder disposes the app it built

        Assert.All(pids, pid => Assert.False(TestHelpers.IsAlive(pid), $"pid {pid} survived dispose"));
    }

    [Fact]
    public async Task A_missing_command_fails_to_start_and_so_do_its_dependents()
    {
        await using var builder = DistributedApplicationTestingBuilder.Create();
        var broken = builder.AddExecutable("broken", "/no/such/command", Path.GetTempPath());
        builder.AddShell("dependent", "exec sleep 600").WaitFor(broken);
        await using var app = await builder.BuildAsync();
        await app.StartAsync();

        var ex = await Assert.ThrowsAsync<DistributedApplicationException>(
            () => app.ResourceNotifications.WaitForResourceHealthyAsync("broken").WaitAsync(TestHelpers.Timeout));
        Assert.Contains("failed to start", ex.Message);
        await app.ResourceNotifications.WaitForResourceAsync("dependent", KnownResourceStates.FailedToStart).WaitAsync(TestHelpers.Timeout);
        Assert.Contains(app.ResourceLogs.GetLines("broken"), l => l.Text.Contains("/no/such/command", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_clean_exit_is_Finished_and_not_restarted()
    {
        await using var builder = DistributedApplicationTestingBuilder.Create();
        builder.AddShell("oneshot", "echo done");
        await using var app = await builder.BuildAsync();
        await app.StartAsync();
        var e = await app.ResourceNotifications.WaitForResourceAsync("oneshot", e => e.Snapshot.State == KnownResourceStates.Finished).WaitAsync(TestHelpers.Timeout);
        Assert.Equal((0, 0), (e.Snapshot.ExitCode!.Value, e.Snapshot.Restarts));
        await app.WaitForLogAsync("oneshot", l => l == "done");
    }

    [Fact]
    public void A_wait_cycle_is_rejected_at_build()
    {
        var builder = DistributedApplicationTestingBuilder.Create();
        var a = builder.AddShell("a", "true");
        var b = builder.AddShell("b", "true").WaitFor(a);
        a.WaitFor(b);
        var ex = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains("cycle", ex.Message);
    }

    [Fact]
    public async Task A_second_AppHost_on_the_same_data_directory_is_refused()
    {
        await using var first = DistributedApplicationTestingBuilder.Create();
        first.AddShell("x", "exec sleep 600");
        await using var app1 = await first.BuildAsync();
        await app1.StartAsync();

        await using var second = DistributedApplicationTestingBuilder.Create(["--data-dir", app1.DataDirectory]);
        second.AddShell("y", "exec sleep 600");
        await using var app2 = await second.BuildAsync();
        var ex = await Assert.ThrowsAsync<InvalidOperationException>(() => app2.StartAsync());
        Assert.Contains("in use by another AppHost", ex.Message);
        await app2.DisposeAsync();
        Assert.True(Directory.Exists(app1.DataDirectory), "the refused app must not delete the other app's directory");
    }

    [Fact]
    public async Task Processes_left_by_an_AppHost_that_was_killed_are_ended_by_the_next_start()
    {
        var dataDir = Path.Combine(Path.GetTempPath(), "apphost-ledger-" + Guid.NewGuid().ToString("N"));
        // What a SIGKILLed AppHost leaves: a child in its own session, and the ledger naming it.
        using var orphan = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/usr/bin/setsid", ["sleep", "600"]))!;
        var id = Platform.Hosting.Orchestration.ProcessTree.Identify(orphan.Id)!.Value;
        Directory.CreateDirectory(Path.Combine(dataDir, ".apphost"));
        await File.WriteAllTextAsync(Path.Combine(dataDir, ".apphost", "processes"), $"{id.Pid} {id.StartTime} old-resource\n");
        try
        {
            await using var builder = DistributedApplicationTestingBuilder.Create(["--data-dir", dataDir]);
            builder.AddShell("fresh", "exec sleep 600");
            await using var app = await builder.BuildAsync();
            await app.StartAsync();

            await orphan.WaitForExitAsync().WaitAsync(TestHelpers.Timeout);
            Assert.False(TestHelpers.IsAlive(id.Pid));
            await app.ResourceNotifications.WaitForResourceAsync("fresh", KnownResourceStates.Running).WaitAsync(TestHelpers.Timeout);
            var ledger = await File.ReadAllTextAsync(Path.Combine(dataDir, ".apphost", "processes"));
            Assert.Contains($"{app.GetProcessId("fresh")} ", ledger);
            Assert.DoesNotContain("old-resource", ledger);
        }
        finally
        {
            if (!orphan.HasExited) orphan.Kill();
            Directory.Delete(dataDir, true);
        }
    }
}
