using System.Diagnostics;
using Google.Protobuf.WellKnownTypes;
using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using Quartz;
using TestSupport;

namespace Benchmarks;

/// <summary><c>schedule</c> against the real scheduler process, and the client helpers the other scheduler scenarios share.</summary>
public static class SchedulerScenarios
{
    public const double TargetSchedulePerSecond = 5_000;

    /// <summary>A client channel with the identity of <paramref name="appId"/>: the scheduler serves it over mTLS only.</summary>
    internal static GrpcChannel Channel(string address, string appId = "bench")
    {
        var handler = TestIdentity.SchedulerClientHandler(TestIdentity.App(appId));
        handler.EnableMultipleHttp2Connections = true;
        return GrpcChannel.ForAddress(address, new GrpcChannelOptions { HttpHandler = handler, MaxReceiveMessageSize = null });
    }

    internal static JobMetadata Metadata(string appId) => new()
    {
        AppId = appId,
        Namespace = "default",
        Target = new JobTargetMetadata { Job = new TargetJob() },
    };

    public static async Task RunScheduleAsync(BenchOptions o)
    {
        var seconds = o.Double("seconds", 10);
        var callers = o.Int("callers", 32);
        var warmup = o.Double("warmup", JitWarmupSeconds);
        var table = new Table($"schedule: ScheduleJob calls/s, {callers} concurrent callers, {seconds:0} s (job: dueTime 24h, data)",
            "scheduler", "path", "durable", "calls/s", "errors", "p50 ms", "p99 ms", "vs ours", "CPU per call", "2-core ceiling/s: server (share) | with the client (share)", "target >=5,000/s");

        Machine.Note("schedule/ours: starting the scheduler process");
        await using (var scheduler = await SchedulerProcess.StartAsync(extraArgs: ["--log-level", "warn"], environment: Machine.ChildEnvironment))
        {
            using var channel = Channel(scheduler.GrpcAddress);
            var client = new Scheduler.SchedulerClient(channel);
            var metadata = Metadata("bench");
            var data = Any.Pack(new StringValue { Value = "perftest" });
            // Connect first so the window measures calls, not connection setup.
            await client.ListJobsAsync(new ListJobsRequest { Metadata = metadata });
            Machine.Note($"schedule/ours: running (scheduler pid {scheduler.Process.Id})");
            var cpu = new CpuWindow(("scheduler", scheduler.Process.Id), ("harness client", Environment.ProcessId));
            var ours = await DriveAsync(callers, seconds, warmup, async ct =>
                await client.ScheduleJobAsync(new ScheduleJobRequest
                {
                    Name = Guid.NewGuid().ToString(),
                    Metadata = metadata,
                    Job = new Job { DueTime = "24h", Data = data },
                }, cancellationToken: ct), cpu);
            table.Add("ours (scheduler process)", "gRPC mTLS, 1 channel", "yes (SQLite FULL sync, group commit)", ours.Rate, ours.Errors,
                ours.Lat.P50, ours.Lat.P99, "1.00x", cpu.PerOp(ours.Done), cpu.Ceilings(ours.Rate, ours.Done, servers: 1),
                Verdict.AtLeast(ours.Rate, TargetSchedulePerSecond));

            if (o.Bool("etcd", true) && EtcdCluster.MissingReason is null)
            {
                // The same calls to one scheduler whose store is a 3-member etcd cluster on this machine (--etcd-embed=false).
                Machine.Note("schedule/ours on etcd: starting a 3-member etcd cluster and the scheduler on it");
                await using var etcd = await EtcdCluster.StartAsync();
                await using var onEtcd = await SchedulerProcess.StartAsync(extraArgs:
                    ["--log-level", "warn", .. etcd.ClientArgs], environment: Machine.ChildEnvironment);
                using var etcdChannel = Channel(onEtcd.GrpcAddress);
                var etcdClient = new Scheduler.SchedulerClient(etcdChannel);
                await etcdClient.ListJobsAsync(new ListJobsRequest { Metadata = metadata });
                var etcdCpu = new CpuWindow(("scheduler", onEtcd.Process.Id), ("harness client", Environment.ProcessId));
                var e = await DriveAsync(callers, seconds, warmup, async ct =>
                    await etcdClient.ScheduleJobAsync(new ScheduleJobRequest
                    {
                        Name = Guid.NewGuid().ToString(),
                        Metadata = metadata,
                        Job = new Job { DueTime = "24h", Data = data },
                    }, cancellationToken: ct), etcdCpu);
                table.Add("ours on etcd (1 replica, 3 members)", "gRPC h2c, 1 channel", "yes (etcd quorum, batched txns)", e.Rate, e.Errors,
                    e.Lat.P50, e.Lat.P99, Verdict.Ratio(ours.Rate, e.Rate), etcdCpu.PerOp(e.Done), etcdCpu.Ceilings(e.Rate, e.Done, servers: 1),
                    Verdict.AtLeast(e.Rate, TargetSchedulePerSecond));
            }

            foreach (var kind in new[] { QuartzStore.Ram, QuartzStore.AdoSqlite })
            {
                Machine.Note($"schedule/{QuartzPeer.Label(kind)}: running");
                var (q, dir) = await QuartzPeer.StartAsync(kind, "bench-schedule-" + kind);
                try
                {
                    await q.Start();
                    var peerCpu = new CpuWindow(("harness (Quartz + callers)", Environment.ProcessId));
                    var peer = await DriveAsync(callers, seconds, warmup, async ct =>
                    {
                        var id = Guid.NewGuid().ToString();
                        var job = JobBuilder.Create<NoopJob>().WithIdentity(id).UsingJobData("data", "perftest").Build();
                        var trigger = TriggerBuilder.Create().WithIdentity(id).StartAt(DateTimeOffset.UtcNow.AddHours(24)).Build();
                        await q.ScheduleJob(job, trigger, new ScheduleJobOptions(), ct);
                    }, peerCpu);
                    table.Add(QuartzPeer.Label(kind), "in-process call", kind == QuartzStore.Ram ? "no" : "yes", peer.Rate, peer.Errors,
                        peer.Lat.P50, peer.Lat.P99, Verdict.Ratio(ours.Rate, peer.Rate), peerCpu.PerOp(peer.Done), peerCpu.Ceilings(peer.Rate, peer.Done, servers: 1), "");
                }
                finally
                {
                    await QuartzPeer.StopAsync(q, dir);
                }
            }
        }
        table.Print();
        Console.WriteLine("'vs ours' = our calls/s / peer calls/s. Ours crosses a process boundary over gRPC; Quartz is called in-process.");
        Console.WriteLine("CPU per call: CPU time of each process over the window / calls (independent of machine load); " +
                          "2-core ceiling = calls/s two idle cores could carry, counting the server only (ours: the scheduler process; Quartz: the whole harness), then counting the harness's client too, which shares the two cores here; share = calls/s / that ceiling.");
    }

    internal readonly record struct DriveResult(double Rate, long Errors, LatencySummary Lat, string? FirstError, long Done);

    /// <summary>
    /// Runs <paramref name="callers"/> loops of <paramref name="call"/>; counts only the window after the warm-up, which
    /// lets a freshly started process finish JIT compilation (tiering) before it is measured.
    /// </summary>
    /// <summary>
    /// Load before counting in the throughput scenarios. After 5 s the processes were still compiling their hot paths
    /// (a fifth of the sidecar's CPU in the JIT, in a profile of `http-schedule`), which the CPU per call, and so the
    /// ceiling, counted; after 25 s the JIT had 2 %.
    /// </summary>
    internal const double JitWarmupSeconds = 20;

    internal static async Task<DriveResult> DriveAsync(int callers, double seconds, double warmup, Func<CancellationToken, Task> call, CpuWindow? cpu = null)
    {
        long ok = 0, errors = 0;
        var measuring = false;
        string? firstError = null;
        var lat = new Samples();
        using var cts = new CancellationTokenSource();
        var loops = Enumerable.Range(0, callers).Select(_ => Task.Run(async () =>
        {
            while (!cts.IsCancellationRequested)
            {
                var t0 = Stopwatch.GetTimestamp();
                try
                {
                    await call(cts.Token);
                    if (Volatile.Read(ref measuring))
                    {
                        Interlocked.Increment(ref ok);
                        lat.Add(Stopwatch.GetElapsedTime(t0).TotalMilliseconds);
                    }
                }
                catch (Exception e) when (!cts.IsCancellationRequested)
                {
                    if (Volatile.Read(ref measuring)) Interlocked.Increment(ref errors);
                    Interlocked.CompareExchange(ref firstError, e.GetType().Name + ": " + e.Message, null);
                }
                catch (Exception) { }
            }
        })).ToArray();
        await Task.Delay(TimeSpan.FromSeconds(warmup));
        Volatile.Write(ref measuring, true);
        cpu?.Start();
        var sw = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(seconds));
        Volatile.Write(ref measuring, false);
        cpu?.Stop();
        var elapsed = sw.Elapsed.TotalSeconds;
        var done = Interlocked.Read(ref ok);
        cts.Cancel();
        await Task.WhenAll(loops);
        if (firstError is not null) Console.WriteLine("  first error: " + firstError);
        return new DriveResult(done / elapsed, Interlocked.Read(ref errors), lat.Summarize(), firstError, done);
    }
}
