using System.Diagnostics;
using System.Net.Sockets;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.Data.Sqlite;
using Platform.SchedulerProtocol;
using TestSupport;
using static Benchmarks.SchedulerScenarios;

namespace Benchmarks;

/// <summary><c>restart</c>: the real scheduler process started on 1M stored jobs, first after a bulk insert, then after kill -9.</summary>
public static class RestartScenario
{
    public const double TargetRssMiB = 400;
    public const double TargetFirstTriggerSeconds = 3;

    public static async Task RunAsync(BenchOptions o)
    {
        var n = o.Int("jobs", 1_000_000);
        var fired = o.Bool("fired", false);
        var dataDir = Directory.CreateTempSubdirectory("bench-restart-");
        var table = new Table($"restart: {n:N0} stored jobs (@every 1h, data{(fired ? ", each fired once" : "")}), one recurring job due now; time from process start to first trigger on WatchJobs",
            "run", "start->port accepting s", "start->first trigger s", "scheduler CPU s", "RSS after load MiB", "peak RSS MiB", "db MiB", "target <=3 s", "target RSS <=400 MiB");
        try
        {
            Machine.Note("restart: creating the store (first start of the scheduler)");
            await using var scheduler = await SchedulerProcess.StartAsync(dataDir.FullName, ["--log-level", "warn"], Machine.ChildEnvironment);
            await scheduler.StopAsync();

            var sw = Stopwatch.StartNew();
            BulkInsert(Path.Combine(dataDir.FullName, "scheduler.db"), n, fired);
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

    /// <summary>
    /// Real jobs as the store writes them: the same columns, a default failure policy, random partition ids; with
    /// <paramref name="fired"/>, each but the one due now with the progress of one tick, as a store of jobs that run has.
    /// </summary>
    private static void BulkInsert(string dbPath, int n, bool fired)
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
        if (fired)
        {
            using var progress = connection.CreateCommand();
            progress.Transaction = tx;
            progress.CommandText = """
                INSERT INTO progress(id, partition_id, count, last_trigger, attempts, last_result)
                SELECT id, partition_id, 1, created, 0, 1 FROM jobs WHERE name <> 'due-now'
                """;
            progress.ExecuteNonQuery();
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
