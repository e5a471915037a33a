using System.Diagnostics;
using TestSupport;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>The suite's own process helper: what it starts cannot outlive the process it is tied to.</summary>
public sealed class TestProcessTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_started_process_dies_with_its_host_even_when_the_host_is_killed()
    {
        // A stand-in for the test host, so the test can kill it: SIGKILL runs no clean-up code of its own.
        await using var host = TestProcess.Start("stand-in host", new ProcessStartInfo("sleep", "300"));
        await using var server = TestProcess.Start("server", new ProcessStartInfo("sh", "-c \"sleep 300 & wait\""), diesWith: host.Id);
        var grandchild = Assert.Single(await ChildrenAsync(server.Id));

        await host.KillAsync();

        Assert.Equal(137, await server.WaitForExitAsync(Bound));
        Assert.False(ProcessProbe.IsAlive(grandchild), "the server's own child outlived the host");
    }

    [Fact]
    public async Task The_watchdog_ends_with_the_process_it_watches()
    {
        // Only the host's own children: each `sleep` of the watchdog's loop is a fork that carries the watchdog's
        // command line until it execs, so a second, short-lived match is no second watchdog.
        IEnumerable<int> watchdogsOf(int child) => ProcessProbe
            .Mentioning($"test-process-watchdog\0{Environment.ProcessId}\0{child}\0")
            .Intersect(ProcessProbe.ChildrenOf(Environment.ProcessId));
        int serverId;
        await using (var server = TestProcess.Start("server", new ProcessStartInfo("sleep", "300")))
        {
            serverId = server.Id;
            Assert.Single(watchdogsOf(serverId));
        }
        Assert.Empty(watchdogsOf(serverId));
    }

    [Fact]
    public async Task Waiting_for_an_exit_returns_the_code_with_all_output_and_is_bounded()
    {
        await using (var done = TestProcess.Start("done", new ProcessStartInfo("sh", "-c \"seq 1 2000; exit 3\"")))
        {
            Assert.Equal(3, await done.WaitForExitAsync(Bound));
            Assert.Equal(2000, done.Output.Count());
        }
        await using var stuck = TestProcess.Start("stuck", new ProcessStartInfo("sleep", "300"));
        await Assert.ThrowsAsync<TimeoutException>(() => stuck.WaitForExitAsync(TimeSpan.FromMilliseconds(300)));
        Assert.True(stuck.HasExited);
    }

    [Fact]
    public async Task A_killed_dotnet_process_leaves_no_runtime_files_in_temp()
    {
        await using var scheduler = await SchedulerProcess.StartAsync();
        var pid = scheduler.Process.Id;
        var key = $"{pid}-{ProcessProbe.StartTicks(pid)}";
        var files = new[] { $"dotnet-diagnostic-{key}-socket", $"clr-debug-pipe-{key}-in", $"clr-debug-pipe-{key}-out" }
            .Select(name => Path.Combine(Path.GetTempPath(), name)).ToList();
        // The names the runtime gives them: were these not there while it runs, the check below would prove nothing.
        Assert.All(files, file => Assert.True(File.Exists(file), $"{file} missing while the process runs"));

        await scheduler.KillAsync();

        Assert.All(files, file => Assert.False(File.Exists(file), $"{file} left behind"));
    }

    [Fact]
    public async Task Runtime_files_of_processes_that_ended_are_removed_and_those_of_running_ones_kept()
    {
        await using var ended = TestProcess.Start("ended", new ProcessStartInfo("sleep", "300"));
        await using var running = TestProcess.Start("running", new ProcessStartInfo("sleep", "300"));
        // A zombie: the shell execs into a `sleep` that never reaps the short-lived child it leaves behind.
        await using var parent = TestProcess.Start("parent", new ProcessStartInfo("sh", "-c \"sleep 1 & exec sleep 300\""));
        var zombie = Assert.Single(await ChildrenAsync(parent.Id));
        var files = RuntimeTempFiles.Of([ended.Id, running.Id, zombie]);
        // Stand-ins for the runtime's own files: `sleep` is no .NET process, but the names are what count.
        string[] named(int pid) => [.. new[] { "dotnet-diagnostic-{0}-socket", "clr-debug-pipe-{0}-in", "clr-debug-pipe-{0}-out" }
            .Select(f => Path.Combine(Path.GetTempPath(), string.Format(System.Globalization.CultureInfo.InvariantCulture, f, $"{pid}-{ProcessProbe.StartTicks(pid)}")))];
        var endedFiles = named(ended.Id).Concat(named(zombie)).ToList();
        var runningFiles = named(running.Id);
        try
        {
            foreach (var file in endedFiles.Concat(runningFiles)) await File.WriteAllTextAsync(file, "");
            Assert.Equal(9, files.Remaining.Count);
            // Ended from outside, as DCP ends an app's process: SIGTERM, which `sleep` does not survive.
            await ended.StopAsync(Bound);
            await Poll.UntilAsync(() => Task.FromResult(!ProcessProbe.IsAlive(zombie)), Bound, "the child becoming a zombie");
            Assert.NotNull(ProcessProbe.StartTicks(zombie));

            files.Remove();

            Assert.Equal(runningFiles.Order(), files.Remaining.Order());
        }
        finally
        {
            foreach (var file in endedFiles.Concat(runningFiles)) File.Delete(file);
        }
    }

    private static async Task<IReadOnlyList<int>> ChildrenAsync(int pid)
    {
        // The shell starts its child right after it starts itself; there is no event for that.
        var deadline = DateTime.UtcNow + Bound;
        while (ProcessProbe.ChildrenOf(pid) is { Count: 0 } && DateTime.UtcNow < deadline) await Task.Delay(20);
        return ProcessProbe.ChildrenOf(pid);
    }
}
