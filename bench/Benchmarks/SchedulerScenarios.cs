using System.Diagnostics;
using System.Net.Sockets;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Data.Sqlite;
using Platform.Scheduler.Engine;
using Platform.SchedulerProtocol;
using Quartz;
using TestSupport;

namespace Benchmarks;

/// <summary>Scenarios against the real scheduler process: <c>schedule</c> and <c>restart</c>.</summary>
public static class SchedulerScenarios
{
    public const double TargetSchedulePerSecond = 5_000;
    public const double TargetRssMiB = 400;
    public const double TargetFirstTriggerSeconds = 3;

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

    // ---- schedule ------------------------------------------------------------------------------------------

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

    // ---- restart -------------------------------------------------------------------------------------------

    public static async Task RunRestartAsync(BenchOptions o)
    {
        var n = o.Int("jobs", 1_000_000);
        var dataDir = Directory.CreateTempSubdirectory("bench-restart-");
        var table = new Table($"restart: {n:N0} stored jobs (@every 1h, data), one recurring job due now; time from process start to first trigger on WatchJobs",
            "run", "start->port accepting s", "start->first trigger s", "scheduler CPU s", "RSS after load MiB", "peak RSS MiB", "db MiB", "target <=3 s", "target RSS <=400 MiB");
        try
        {
            Machine.Note("restart: creating the store (first start of the scheduler)");
            await using var scheduler = await SchedulerProcess.StartAsync(dataDir.FullName, ["--log-level", "warn"], Machine.ChildEnvironment);
            await scheduler.StopAsync();

            var sw = Stopwatch.StartNew();
            BulkInsert(Path.Combine(dataDir.FullName, "scheduler.db"), n);
            var dbMiB = new FileInfo(Path.Combine(dataDir.FullName, "scheduler.db")).Length / 1048576.0;
            Machine.Note($"restart: inserted {n:N0} jobs in {sw.Elapsed.TotalSeconds:0.0} s ({dbMiB:0} MiB)");

            foreach (var run in new[] { "start after bulk insert", "restart after kill -9" })
            {
                var (accepting, seconds, pid) = await StartAndAwaitFirstTriggerAsync(scheduler);
                // CPU the scheduler used up to its first trigger: on a shared machine it varies far less than the wall time.
                var cpu = Machine.CpuSeconds(pid);
                // Let the load's garbage settle before reading the resident set.
                await Task.Delay(TimeSpan.FromSeconds(3));
                var (rss, peak) = Machine.Memory(pid);
                Machine.Note($"restart/{run}: first trigger after {seconds:0.00} s ({cpu:0.00} s CPU), RSS {rss:0} MiB (peak {peak:0})");
                table.Add(run, accepting, seconds, cpu, rss, peak, dbMiB, Verdict.AtMost(seconds, TargetFirstTriggerSeconds), Verdict.AtMost(rss, TargetRssMiB));
                await scheduler.KillAsync();
            }
        }
        finally
        {
            table.Print();
            SqliteConnection.ClearAllPools();
            try { dataDir.Delete(recursive: true); } catch (IOException) { }
        }
    }

    /// <summary>Real jobs as the store writes them: the same columns, a default failure policy, random partition ids.</summary>
    private static void BulkInsert(string dbPath, int n)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = dbPath, Pooling = false }.ToString());
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;";
            pragma.ExecuteNonQuery();
        }
        using var tx = connection.BeginTransaction();
        using var insert = connection.CreateCommand();
        insert.Transaction = tx;
        insert.CommandText = """
            INSERT INTO jobs(namespace, app_id, name, partition_id, schedule, due_time, data, failure_policy, created, due)
            VALUES('default', 'bench', $name, $partition, $schedule, $due_time, $data, $policy, $created, $due)
            """;
        var name = insert.Parameters.Add("$name", SqliteType.Text);
        var partition = insert.Parameters.Add("$partition", SqliteType.Integer);
        var schedule = insert.Parameters.Add("$schedule", SqliteType.Text);
        var dueTime = insert.Parameters.Add("$due_time", SqliteType.Text);
        var data = insert.Parameters.Add("$data", SqliteType.Blob);
        var policy = insert.Parameters.Add("$policy", SqliteType.Blob);
        var created = insert.Parameters.Add("$created", SqliteType.Integer);
        var due = insert.Parameters.Add("$due", SqliteType.Integer);
        insert.Prepare();
        data.Value = Any.Pack(new StringValue { Value = "perftest" }).ToByteArray();
        policy.Value = Platform.Scheduler.Engine.RetryPolicy.Default().ToByteArray();
        var now = DateTimeOffset.UtcNow;
        for (var i = 0; i < n; i++)
        {
            var hot = i == n - 1;
            name.Value = hot ? "due-now" : "job-" + i.ToString("D7");
            partition.Value = Random.Shared.NextInt64(long.MinValue, long.MaxValue);
            schedule.Value = hot ? "@every 1s" : "@every 1h";
            dueTime.Value = hot ? EngineScenario.Rfc3339(now) : DBNull.Value;
            created.Value = now.UtcTicks;
            due.Value = hot ? now.UtcTicks : DBNull.Value;
            insert.ExecuteNonQuery();
        }
        tx.Commit();
        // Fold the WAL into the database file, as the store's automatic checkpoints would have over time;
        // otherwise the first load reads 1M rows through a 180 MB WAL.
        using var checkpoint = connection.CreateCommand();
        checkpoint.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
        checkpoint.ExecuteNonQuery();
    }

    /// <summary>
    /// Starts the scheduler process and, while it loads, keeps trying its gRPC port; as soon as it listens, opens a
    /// WatchJobs stream for the app and returns the times from the OS process start to its port accepting connections
    /// (the load is done by then) and to the first trigger received.
    /// </summary>
    private static async Task<(double Accepting, double Seconds, int Pid)> StartAndAwaitFirstTriggerAsync(SchedulerProcess scheduler)
    {
        var previous = scheduler.Process;
        var starting = scheduler.RestartAsync(TimeSpan.FromMinutes(5));
        try
        {
            return await AwaitFirstTriggerAsync(scheduler, previous, starting);
        }
        finally
        {
            // Never leave the launch running behind a failed step: it would start a scheduler nobody ends.
            try { await starting; } catch (Exception e) { Machine.Note($"restart: the launch failed too: {e.Message}"); }
        }
    }

    private static async Task<(double Accepting, double Seconds, int Pid)> AwaitFirstTriggerAsync(SchedulerProcess scheduler, TestProcess previous, Task starting)
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        // RestartAsync first ends the old process (its clean-up awaits the watchdog), then launches the new one: only
        // then is there a new pid to read. Nothing signals the launch, so the property is polled, briefly and bounded.
        while (ReferenceEquals(scheduler.Process, previous))
        {
            if (starting.IsCompleted) await starting; // a failed clean-up or launch surfaces here
            await Task.Delay(5, deadline.Token);
        }
        var pid = scheduler.Process.Id;
        var processStart = Process.GetProcessById(pid).StartTime.ToUniversalTime();
        double accepting;
        while (true)
        {
            deadline.Token.ThrowIfCancellationRequested();
            if (scheduler.Process.HasExited) throw new InvalidOperationException("scheduler exited while loading");
            try
            {
                using var tcp = new TcpClient();
                await tcp.ConnectAsync("127.0.0.1", scheduler.Port, deadline.Token);
                accepting = (DateTime.UtcNow - processStart).TotalSeconds;
                break;
            }
            catch (SocketException)
            {
                // Nothing to await: the process signals readiness only by accepting connections.
                await Task.Delay(20, deadline.Token);
            }
        }
        using var channel = Channel(scheduler.GrpcAddress);
        var client = new Scheduler.SchedulerClient(channel);
        while (true)
        {
            // The port may accept before the server serves requests; a refused stream is opened again.
            try
            {
                using var call = client.WatchJobs(cancellationToken: deadline.Token);
                await call.RequestStream.WriteAsync(new WatchJobsRequest
                {
                    Initial = new WatchJobsRequestInitial { AppId = "bench", Namespace = "default", AcceptJobTypes = { JobTargetType.Job } },
                });
                if (!await call.ResponseStream.MoveNext(deadline.Token)) throw new InvalidOperationException("WatchJobs ended without a trigger");
                var seconds = (DateTime.UtcNow - processStart).TotalSeconds;
                await call.RequestStream.WriteAsync(new WatchJobsRequest
                {
                    Result = new WatchJobsRequestResult { Id = call.ResponseStream.Current.Id, Status = WatchJobsRequestResultStatus.Success },
                });
                await starting;
                return (accepting, seconds, pid);
            }
            catch (RpcException e) when (!deadline.IsCancellationRequested && !scheduler.Process.HasExited)
            {
                Machine.Note($"restart: WatchJobs not served yet ({e.StatusCode}); retrying");
                await Task.Delay(20, deadline.Token);
            }
        }
    }
}
