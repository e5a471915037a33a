using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using DaprGrpc = Dapr.Client.Autogen.Grpc.v1;

namespace Benchmarks;

/// <summary>
/// Lateness at a steady 1k triggers/s (issue 4), through the real scheduler and sidecar processes (<see cref="SidecarStack"/>)
/// and an HTTP app hosted in this harness (<see cref="JobApp"/>).
/// </summary>
public static class SteadyScenario
{
    public const double TargetSteadyP99Ms = 20;

    public static async Task RunSteadyAsync(BenchOptions o)
    {
        var n = o.Int("jobs", 1_000);
        var seconds = o.Double("seconds", 20);
        var warmup = o.Double("warmup", 5);
        var table = new Table($"steady: {n:N0} jobs @every 1s (first ticks spread over 1 s) -> {n:N0} triggers/s to the HTTP app; {seconds:0} s after {warmup:0} s warm-up",
            "path", "delivered/s", "p50 ms", "p99 ms", "max ms", "CPU per trigger", "target p99<=20ms");
        Machine.Note("steady: starting scheduler + sidecar + app");
        await using var stack = await SidecarStack.StartAsync("bench-steady");
        using var channel = GrpcChannel.ForAddress(stack.Sidecar.GrpcEndpoint);
        var dapr = new DaprGrpc.Dapr.DaprClient(channel);

        var first = DateTimeOffset.UtcNow.AddSeconds(2);
        var dueTicks = new long[n];
        var counts = new int[n];
        FiringSink? sink = null;
        stack.App.OnJob = (name, now) =>
        {
            // Tick k of job i is due at due_i + k s (@every after a due time: no skipping), and the k-th delivery is for tick k.
            if (!name.StartsWith("s-", StringComparison.Ordinal) || !int.TryParse(name.AsSpan(2), out var i) || (uint)i >= (uint)n) return;
            var k = Interlocked.Increment(ref counts[i]) - 1;
            Volatile.Read(ref sink)?.Record(now, new DateTimeOffset(dueTicks[i] + k * TimeSpan.TicksPerSecond, TimeSpan.Zero));
        };
        await Parallel.ForEachAsync(Enumerable.Range(0, n), new ParallelOptions { MaxDegreeOfParallelism = 32 }, async (i, ct) =>
        {
            var due = first + TimeSpan.FromTicks(TimeSpan.TicksPerSecond * i / n);
            // The scheduler keeps due times to the microsecond at best; use what the RFC3339 text says.
            dueTicks[i] = due.UtcTicks;
            await dapr.ScheduleJobAsync(new DaprGrpc.ScheduleJobRequest
            {
                Job = new DaprGrpc.Job { Name = "s-" + i, Schedule = "@every 1s", DueTime = EngineScenario.Rfc3339(due), Data = Any.Pack(new StringValue { Value = "perftest" }) },
            }, cancellationToken: ct);
        });
        Machine.Note($"steady: scheduled {n} jobs");
        var start = DateTimeOffset.UtcNow.AddSeconds(warmup);
        var end = start.AddSeconds(seconds);
        var s = new FiringSink(start, end, n);
        Volatile.Write(ref sink, s);
        var cpu = new CpuWindow(("scheduler", stack.Scheduler.Process.Id), ("sidecar", stack.Sidecar.Process.Id), ("harness app", Environment.ProcessId));
        await Task.Delay(start - DateTimeOffset.UtcNow);
        cpu.Start();
        await Task.Delay(end - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(300));
        cpu.Stop();
        var lat = s.Lateness.Summarize();
        table.Add("scheduler -> sidecar (WatchJobs) -> POST /job/{name}", s.Count / seconds, lat.P50, lat.P99, lat.Max, cpu.PerOp(s.Count), Verdict.AtMost(lat.P99, TargetSteadyP99Ms));
        table.Print();
    }
}
