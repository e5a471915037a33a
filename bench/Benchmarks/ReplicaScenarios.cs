using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Grpc.Net.Client;
using Platform.SchedulerProtocol;
using TestSupport;

namespace Benchmarks;

/// <summary>
/// <c>replicas</c> (issue 11): the scheduler on SQLite, then 1 and 3 peer replicas on a 3-member etcd cluster, each
/// measured for ScheduleJob/s, trigger throughput, lateness of recurring jobs and (3 replicas) failover after kill -9.
/// </summary>
public static class ReplicaScenarios
{
    private const string App = "bench";
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(5) };

    internal const double ReplicaJitWarmupSeconds = 40;

    public static async Task RunAsync(BenchOptions o)
    {
        var seconds = o.Double("seconds", 10);
        // Three replicas each take a third of the calls on a third of the CPU, so each needs far longer to tier up its
        // hot paths: 20 s into the load, the JIT's thread still had 63 % of a replica's CPU; its compiled-method count
        // stopped growing at about 30 s. Both rows load as long before counting, so the ratio compares steady states.
        var warmup = o.Double("warmup", ReplicaJitWarmupSeconds);
        var callers = o.Int("callers", 32);
        var triggerJobs = o.Int("trigger-jobs", 10_000);
        var latenessJobs = o.Int("lateness-jobs", 10_000);
        var latenessSeconds = o.Double("lateness-seconds", 20);
        var failoverRuns = o.Int("failover-runs", 3);
        var ttl = o.Int("etcd-ttl", 5);
        var table = new Table($"replicas: {callers} callers x {seconds:0} s ScheduleJob (dueTime 24h, data); {triggerJobs:N0} one-shot jobs due at one instant; " +
                              $"{latenessJobs:N0} jobs @every 1s ({(o.Bool("aligned", false) ? "all on the whole second" : "first ticks spread over 1 s")}) for {latenessSeconds:0} s; etcd lease TTL {ttl} s (Dapr's default 20 s)",
            "setup", "schedules/s", "p50 ms", "p99 ms", "errors", "triggers/s (burst)", "delivered/dups", "lateness p50/p99/max ms", "steady triggers/s", "load avg", "note");
        var failover = new Table($"replicas: failover, 3 replicas, kill -9 of one while {Math.Min(latenessJobs, 1000):N0} jobs @every 1s run; lease TTL {ttl} s (--Scheduler:Etcd:LeaseTtl; Dapr's 20 s)",
            "run", "kill -> first moved trigger s", "moved jobs seen", "load avg");

        // --setups sqlite,etcd1-open,etcd1,etcd3-open,etcd3 (default: all) runs some rows only; --parts schedule,burst,lateness likewise.
        var setups = o.Has("setups") ? o.Strings("setups") : null;
        bool Wanted(string setup) => setups is null || setups.Contains(setup);
        if (Wanted("sqlite"))
            await RowAsync(table, "ours: 1 scheduler, SQLite (baseline)", 0, o, callers, seconds, warmup, triggerJobs, latenessJobs, latenessSeconds, ttl, null);
        if (EtcdCluster.MissingReason is { } missing)
        {
            table.Add("etcd rows", "-", "-", "-", "-", "-", "-", "-", "-", Machine.LoadAverage(), "skipped: " + missing);
        }
        else
        {
            // Each etcd setup twice in the same run: open (plain text, no authentication: the cluster before issue 29) and
            // locked (TLS with client certificates, as the AppHost now starts it), so the cost of the lock is read side by side.
            if (Wanted("etcd1-open"))
                await RowAsync(table, "ours: 1 replica, 3 etcd members, open", 1, o, callers, seconds, warmup, triggerJobs, latenessJobs, latenessSeconds, ttl, null, etcdTls: false);
            if (Wanted("etcd1"))
                await RowAsync(table, "ours: 1 replica, 3 etcd members, TLS", 1, o, callers, seconds, warmup, triggerJobs, latenessJobs, latenessSeconds, ttl, null);
            if (Wanted("etcd3-open"))
                await RowAsync(table, "ours: 3 replicas, 3 etcd members, open", 3, o, callers, seconds, warmup, triggerJobs, latenessJobs, latenessSeconds, ttl, null, etcdTls: false);
            if (Wanted("etcd3"))
                await RowAsync(table, "ours: 3 replicas, 3 etcd members, TLS", 3, o, callers, seconds, warmup, triggerJobs, latenessJobs, latenessSeconds, ttl,
                    failoverRuns > 0 ? failover : null);
        }
        table.Add("Dapr anchor: 667 schedules/s", 667.0, "-", "-", "-", "-", "-", "-", "-", "-", "Dapr perf test, sidecar API, 8 cores");
        table.Add("Dapr anchor: 15,463 triggers/s (8 cores)", "-", "-", "-", "-", 15_463.0, "-", "-", "-", "-", "Dapr perf test");
        table.Print();
        if (failoverRuns > 0 && EtcdCluster.MissingReason is null && Wanted("etcd3")) failover.Print();
        Console.WriteLine("triggers/s (burst) = (deliveries - 1) / (last - first delivery) over every replica's stream; lateness = receive time - the trigger's ScheduledTime.");
    }

    private static async Task RowAsync(Table table, string label, int replicaCount, BenchOptions o, int callers, double seconds, double warmup,
        int triggerJobs, int latenessJobs, double latenessSeconds, int ttl, Table? failover, bool etcdTls = true)
    {
        object? rate = null, p50 = null, p99 = null, errors = null, burst = null, delivered = null, lateness = null, steady = null;
        var notes = new List<string>();
        var load = new List<string>();
        EtcdCluster? etcd = null;
        var replicas = new List<SchedulerProcess>();
        try
        {
            Machine.Note($"replicas/{label}: starting");
            if (replicaCount == 0)
            {
                replicas.Add(await SchedulerProcess.StartAsync(extraArgs: ["--log-level", "warn"], environment: Machine.ChildEnvironment));
            }
            else
            {
                etcd = await EtcdCluster.StartAsync(tls: etcdTls);
                for (var i = 0; i < replicaCount; i++)
                    replicas.Add(await SchedulerProcess.StartAsync(extraArgs:
                    [
                        .. etcd.ClientArgs, "--id", $"replica-{i}",
                        $"--Scheduler:Etcd:LeaseTtl=00:00:{ttl:00}",
                    ], environment: Machine.ChildEnvironment, timeout: TimeSpan.FromSeconds(60)));
                await WaitForAgreementAsync(replicas, replicaCount);
            }
            var channels = replicas.Select(r => SchedulerScenarios.Channel(r.GrpcAddress, App)).ToArray();
            try
            {
                var clients = channels.Select(c => new Scheduler.SchedulerClient(c)).ToArray();
                var metadata = SchedulerScenarios.Metadata(App);
                var data = Any.Pack(new StringValue { Value = "perftest" });
                foreach (var c in clients) await c.ListJobsAsync(new ListJobsRequest { Metadata = metadata });

                var parts = o.Has("parts") ? o.Strings("parts") : ["schedule", "burst", "lateness"];
                var aligned = o.Bool("aligned", false);
                // 1. durable ScheduleJob/s, callers spread round-robin over the replicas.
                if (parts.Contains("schedule"))
                try
                {
                    Machine.Note($"replicas/{label}: schedule");
                    var next = 0;
                    var d = await SchedulerScenarios.DriveAsync(callers, seconds, warmup, async ct =>
                        await clients[(int)((uint)Interlocked.Increment(ref next) % (uint)clients.Length)].ScheduleJobAsync(new ScheduleJobRequest
                        {
                            Name = Guid.NewGuid().ToString(), Metadata = metadata, Job = new Job { DueTime = "24h", Data = data },
                        }, cancellationToken: ct));
                    (rate, p50, p99, errors) = (d.Rate, d.Lat.P50, d.Lat.P99, d.Errors);
                    if (d.FirstError is not null) notes.Add("schedule: " + d.FirstError);
                }
                catch (Exception e) { notes.Add("schedule failed: " + e.Message); }
                load.Add(Machine.LoadAverage().Split(' ')[0]);

                await using var streams = await Streams.OpenAsync(clients, o.Bool("answers-inline", false));

                // 2. burst: N one-shot jobs due at one instant.
                if (parts.Contains("burst"))
                try
                {
                    Machine.Note($"replicas/{label}: {triggerJobs:N0} one-shot jobs");
                    var sw = Stopwatch.StartNew();
                    var dueAt = DateTimeOffset.UtcNow.AddSeconds(Math.Max(10, triggerJobs / 500.0));
                    var due = EngineScenario.Rfc3339(dueAt);
                    await ScheduleManyAsync(clients, metadata, triggerJobs, i => ("burst-" + i.ToString("D6", CultureInfo.InvariantCulture), new Job { DueTime = due, Data = data }));
                    if (DateTimeOffset.UtcNow >= dueAt) notes.Add($"burst: scheduling took {sw.Elapsed.TotalSeconds:0} s, past the due time");
                    var got = await streams.WaitForAsync("burst-", triggerJobs, dueAt + TimeSpan.FromSeconds(60));
                    var times = got.Select(g => g.At).Order().ToArray();
                    burst = times.Length > 1 ? (times.Length - 1) / (times[^1] - times[0]).TotalSeconds : double.NaN;
                    var distinct = got.Select(g => g.Name).Distinct().Count();
                    delivered = $"{distinct:N0}/{triggerJobs:N0}, {got.Count - distinct} dups";
                }
                catch (Exception e) { notes.Add("burst failed: " + e.Message); }
                load.Add(Machine.LoadAverage().Split(' ')[0]);

                // 3. lateness of recurring jobs.
                if (parts.Contains("lateness"))
                try
                {
                    Machine.Note($"replicas/{label}: {latenessJobs:N0} jobs @every 1s" + (aligned ? ", all on the whole second" : ""));
                    // Without a due time Dapr starts every job's clock on a whole second, so N jobs @every 1s are N
                    // triggers due at one instant each second: the lateness then is the time to drain that burst.
                    // Spread, each job's first tick has its own offset in the second, as in the engine scenario.
                    var first = DateTimeOffset.UtcNow.AddSeconds(Math.Max(2, latenessJobs / 500.0));
                    await ScheduleManyAsync(clients, metadata, latenessJobs, i =>
                    {
                        var job = new Job { Schedule = "@every 1s", Data = data };
                        if (!aligned) job.DueTime = EngineScenario.Rfc3339(first + TimeSpan.FromTicks(TimeSpan.TicksPerSecond * i / latenessJobs));
                        return ("every-" + i.ToString("D6", CultureInfo.InvariantCulture), job);
                    });
                    if (aligned) first = DateTimeOffset.UtcNow;
                    else if (DateTimeOffset.UtcNow > first) notes.Add("lateness: scheduling ended after the first ticks");
                    await Task.Delay(first - DateTimeOffset.UtcNow + TimeSpan.FromSeconds(5));
                    var from = DateTimeOffset.UtcNow;
                    await Task.Delay(TimeSpan.FromSeconds(latenessSeconds));
                    var to = DateTimeOffset.UtcNow;
                    var window = streams.Snapshot("every-").Where(g => g.At >= from && g.At < to).ToArray();
                    var lat = new Samples();
                    foreach (var g in window) lat.Add((g.At - g.Scheduled).TotalMilliseconds);
                    var s = lat.Summarize();
                    lateness = $"{s.P50:0}/{s.P99:0}/{s.Max:0}";
                    steady = window.Length / (to - from).TotalSeconds;
                    load.Add(Machine.LoadAverage().Split(' ')[0]);
                    if (failover is not null) await FailoverAsync(failover, replicas, clients, streams, metadata, latenessJobs, o.Int("failover-runs", 3), ttl);
                }
                catch (Exception e) { notes.Add("lateness/failover failed: " + e.Message); }
            }
            finally
            {
                foreach (var c in channels) c.Dispose();
            }
        }
        catch (Exception e) { notes.Add("setup failed: " + e.Message); }
        finally
        {
            try { await Owned.DisposeAllAsync([.. replicas, etcd]); }
            catch (Exception e) { notes.Add("clean-up failed: " + e.Message); }
        }
        table.Add(label, rate, p50, p99, errors, burst, delivered, lateness, steady, string.Join(" / ", load), string.Join("; ", notes));
    }

    /// <summary>
    /// Removes the @every load down to a smaller set (keeps failover cheap), then per run: records which jobs each
    /// replica fires, kill -9 one live replica, and waits for a job it fired to arrive on another replica's stream.
    /// </summary>
    private static async Task FailoverAsync(Table failover, List<SchedulerProcess> replicas, Scheduler.SchedulerClient[] clients, Streams streams,
        JobMetadata metadata, int latenessJobs, int runs, int ttl)
    {
        var keep = Math.Min(latenessJobs, 1000);
        for (var i = keep; i < latenessJobs; i++)
            await clients[0].DeleteJobAsync(new DeleteJobRequest { Name = "every-" + i.ToString("D6", CultureInfo.InvariantCulture), Metadata = metadata });
        var results = new List<double>();
        var alive = Enumerable.Range(0, replicas.Count).ToList();
        for (var run = 1; run <= runs && alive.Count > 1; run++)
        {
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(3));
                var victim = alive[^1];
                var since = DateTimeOffset.UtcNow - TimeSpan.FromSeconds(2);
                var owned = streams.Snapshot("every-").Where(g => g.Replica == victim && g.At >= since).Select(g => g.Name).ToHashSet();
                if (owned.Count == 0) { failover.Add($"run {run}", "-", "victim fired nothing", Machine.LoadAverage()); continue; }
                var killedAt = DateTimeOffset.UtcNow;
                var sw = Stopwatch.StartNew();
                await replicas[victim].KillAsync();
                alive.Remove(victim);
                using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(ttl * 4 + 30));
                double? took = null;
                while (took is null && !deadline.IsCancellationRequested)
                {
                    var moved = streams.Snapshot("every-").FirstOrDefault(g => g.Replica != victim && g.At > killedAt && owned.Contains(g.Name));
                    if (moved.Name is not null) took = (moved.At - killedAt).TotalSeconds;
                    else await streams.NextAsync(deadline.Token);
                }
                if (took is { } t) results.Add(t);
                failover.Add($"run {run}: kill replica-{victim}", took, owned.Count, Machine.LoadAverage());
                Machine.Note($"replicas/failover run {run}: {took?.ToString("0.00", CultureInfo.InvariantCulture) ?? "no moved trigger"} s");
            }
            catch (Exception e) { failover.Add($"run {run}", "failed: " + e.Message, "-", Machine.LoadAverage()); }
        }
        if (results.Count > 0) failover.Add("median", results.Order().ElementAt(results.Count / 2), "-", Machine.LoadAverage());
    }

    private static async Task ScheduleManyAsync(Scheduler.SchedulerClient[] clients, JobMetadata metadata, int n, Func<int, (string Name, Job Job)> make)
    {
        var next = -1;
        await Task.WhenAll(Enumerable.Range(0, 32).Select(_ => Task.Run(async () =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < n)
            {
                var (name, job) = make(i);
                await clients[i % clients.Length].ScheduleJobAsync(new ScheduleJobRequest { Name = name, Metadata = metadata, Job = job });
            }
        })));
    }

    internal static Task WaitForAgreementAsync(List<SchedulerProcess> replicas, int total) =>
        Poll.UntilAsync(async () =>
        {
            foreach (var r in replicas)
            {
                if (!r.Process.Output.Any(l => l.Contains($"of {total}", StringComparison.Ordinal) && l.Contains("fires partition", StringComparison.Ordinal))) return false;
                using var health = await Http.GetAsync($"http://127.0.0.1:{r.HealthzPort}/healthz");
                if (health.StatusCode != HttpStatusCode.OK) return false;
            }
            return true;
        }, TimeSpan.FromSeconds(90), $"the replicas agreeing on {total}");

    internal readonly record struct Delivery(string Name, DateTimeOffset Scheduled, DateTimeOffset At, int Replica);

    /// <summary>One WatchJobs stream per replica, answering SUCCESS at once (as a sidecar would), recording every trigger.</summary>
    private sealed class Streams : IAsyncDisposable
    {
        private readonly ConcurrentQueue<Delivery> _all = new();
        private readonly List<AsyncDuplexStreamingCall<WatchJobsRequest, WatchJobsResponse>> _calls = [];
        private readonly List<Task> _readers = [];
        private readonly CancellationTokenSource _cts = new();
        private volatile TaskCompletionSource _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private bool _inlineAnswers;

        public static async Task<Streams> OpenAsync(Scheduler.SchedulerClient[] clients, bool inlineAnswers)
        {
            var s = new Streams { _inlineAnswers = inlineAnswers };
            for (var i = 0; i < clients.Length; i++)
            {
                var call = clients[i].WatchJobs(cancellationToken: s._cts.Token);
                await call.RequestStream.WriteAsync(new WatchJobsRequest
                {
                    Initial = new WatchJobsRequestInitial { AppId = App, Namespace = "default", AcceptJobTypes = { JobTargetType.Job } },
                });
                s._calls.Add(call);
                var replica = i;
                s._readers.Add(Task.Run(() => s.ReadAsync(call, replica)));
            }
            return s;
        }

        private async Task ReadAsync(AsyncDuplexStreamingCall<WatchJobsRequest, WatchJobsResponse> call, int replica)
        {
            if (_inlineAnswers)
            {
                await ReadAnsweringInlineAsync(call, replica);
                return;
            }
            // Answers go through one writer, as the sidecar's do: the reader never waits for an answer's write, so it
            // keeps up with the stream (awaiting each answer's flush before the next read capped it below 10k/s).
            var results = System.Threading.Channels.Channel.CreateUnbounded<WatchJobsRequest>(new() { SingleReader = true, SingleWriter = true });
            var writer = Task.Run(async () =>
            {
                await foreach (var result in results.Reader.ReadAllAsync(_cts.Token))
                    await call.RequestStream.WriteAsync(result, _cts.Token);
            });
            try
            {
                await foreach (var t in call.ResponseStream.ReadAllAsync(_cts.Token))
                {
                    var at = DateTimeOffset.UtcNow;
                    _all.Enqueue(new Delivery(t.Name, t.ScheduledTime?.ToDateTimeOffset() ?? at, at, replica));
                    _arrived.TrySetResult();
                    results.Writer.TryWrite(new WatchJobsRequest
                    {
                        Result = new WatchJobsRequestResult { Id = t.Id, Status = WatchJobsRequestResultStatus.Success },
                    });
                }
            }
            catch (RpcException) { }
            catch (OperationCanceledException) { }
            catch (IOException) { }
            catch (InvalidOperationException) { }
            finally
            {
                results.Writer.TryComplete();
                try { await writer; } catch (Exception) { /* the stream is gone */ }
            }
        }

        /// <summary>The consumer before issue 26 (<c>--answers inline</c>, kept for before/after runs): each answer's write
        /// is awaited before the next trigger is read.</summary>
        private async Task ReadAnsweringInlineAsync(AsyncDuplexStreamingCall<WatchJobsRequest, WatchJobsResponse> call, int replica)
        {
            try
            {
                await foreach (var t in call.ResponseStream.ReadAllAsync(_cts.Token))
                {
                    var at = DateTimeOffset.UtcNow;
                    _all.Enqueue(new Delivery(t.Name, t.ScheduledTime?.ToDateTimeOffset() ?? at, at, replica));
                    _arrived.TrySetResult();
                    await call.RequestStream.WriteAsync(new WatchJobsRequest
                    {
                        Result = new WatchJobsRequestResult { Id = t.Id, Status = WatchJobsRequestResultStatus.Success },
                    });
                }
            }
            catch (RpcException) { }
            catch (OperationCanceledException) { }
            catch (IOException) { }
            catch (InvalidOperationException) { }
        }

        public List<Delivery> Snapshot(string prefix) => [.. _all.Where(d => d.Name.StartsWith(prefix, StringComparison.Ordinal))];

        public async Task NextAsync(CancellationToken ct)
        {
            var tcs = _arrived;
            if (tcs.Task.IsCompleted) _arrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
            await tcs.Task.WaitAsync(TimeSpan.FromMilliseconds(200), ct).ContinueWith(_ => { }, TaskScheduler.Default);
        }

        /// <summary>Waits until <paramref name="n"/> distinct names with the prefix arrived, or the deadline; then 1 s more for duplicates.</summary>
        public async Task<List<Delivery>> WaitForAsync(string prefix, int n, DateTimeOffset deadline)
        {
            while (DateTimeOffset.UtcNow < deadline && Snapshot(prefix).Select(d => d.Name).Distinct().Count() < n)
                await Task.Delay(250);
            await Task.Delay(1000);
            return Snapshot(prefix);
        }

        public async ValueTask DisposeAsync()
        {
            _cts.Cancel();
            foreach (var c in _calls) c.Dispose();
            await Task.WhenAll(_readers);
            _cts.Dispose();
        }
    }
}
