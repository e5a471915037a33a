using TestSupport;

namespace Benchmarks;

/// <summary>
/// <c>join</c> (issue 26, item 3, second half): three scheduler replicas on a three-member etcd cluster (TLS, as the
/// AppHost runs them); the sidecar is told all three addresses while one replica is down, so it has never reached it.
/// That replica then starts (joins) on its port; measured from the moment its port accepts connections until the
/// sidecar reports its job stream to that replica. Further runs kill it (-9) and start it again (a replica rejoining).
/// </summary>
public static class ReplicaJoinScenario
{
    public static async Task RunAsync(BenchOptions o)
    {
        var runs = o.Int("runs", 5);
        var down = TimeSpan.FromSeconds(o.Double("down", 3));
        var table = new Table($"join: 3 replicas on 3 etcd members (TLS); one down, then started on its port, {down.TotalSeconds:0.#} s later; {runs} runs (times from its port accepting connections)",
            "run", "listening -> sidecar stream to it s", "load avg", "target <=0.5 s");
        if (EtcdCluster.MissingReason is { } missing)
        {
            Machine.Note($"join: skipped ({missing})");
            return;
        }
        var app = await JobApp.StartAsync();
        EtcdCluster? etcd = null;
        var replicas = new List<SchedulerProcess>();
        SidecarProcess? sidecar = null;
        try
        {
            Machine.Note("join: starting etcd and 3 replicas");
            etcd = await EtcdCluster.StartAsync(tls: true);
            for (var i = 0; i < 3; i++)
                replicas.Add(await SchedulerProcess.StartAsync(extraArgs: [.. etcd.ClientArgs, "--id", $"replica-{i}"],
                    environment: Machine.ChildEnvironment, timeout: TimeSpan.FromSeconds(60)));
            await ReplicaScenarios.WaitForAgreementAsync(replicas, 3);
            var joining = replicas[2];
            await joining.KillAsync();
            sidecar = await SidecarProcess.StartAsync(new SidecarSettings("bench-join")
            {
                AppPort = app.Port,
                SchedulerHostAddress = string.Join(",", replicas.Select(r => r.HostAddress)),
                LogLevel = "info",
                Environment = Machine.ChildEnvironment,
            });
            await sidecar.WaitForSchedulerStreamAsync();
            var times = new List<double>();
            for (var run = 1; run <= runs; run++)
            {
                if (run > 1) await joining.KillAsync();
                // Down a while, as a replica that starts late or restarts: the sidecar's attempts meanwhile all fail.
                await Task.Delay(down);
                var toJoining = $"Connected job stream to scheduler {joining.HostAddress}";
                var before = sidecar.Process.Output.Count(l => l.Contains(toJoining, StringComparison.Ordinal));
                var previous = joining.Process;
                var restarting = joining.RestartAsync(TimeSpan.FromSeconds(60));
                try
                {
                    var (listening, backAt) = await ReconnectScenario.StreamBackAsync(joining, previous, restarting, sidecar,
                        l => l.Contains(toJoining, StringComparison.Ordinal), before);
                    var back = (backAt - listening).TotalSeconds;
                    times.Add(back);
                    table.Add(run == 1 ? "run 1: first join" : $"run {run}: rejoin", back, Machine.LoadAverage(), Verdict.AtMost(back, ReconnectScenario.TargetSeconds));
                    Machine.Note($"join/run {run}: stream to the replica {back:0.000} s after its port accepted");
                }
                finally
                {
                    try { await restarting; } catch (Exception e) { Machine.Note($"join: the replica's start failed: {e.Message}"); }
                }
            }
            if (times.Count > 0)
            {
                var median = times.Order().ElementAt(times.Count / 2);
                table.Add("median", median, Machine.LoadAverage(), Verdict.AtMost(median, ReconnectScenario.TargetSeconds));
            }
        }
        finally
        {
            table.Print();
            await Owned.DisposeAllAsync([sidecar, .. replicas, etcd, app]);
        }
    }
}
