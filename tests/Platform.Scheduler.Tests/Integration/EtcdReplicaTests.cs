using System.Diagnostics;
using System.Net;
using Platform.SchedulerProtocol;
using TestSupport;
using Xunit.Abstractions;
using static Platform.Scheduler.Tests.Integration.SchedulerUnderTest;

namespace Platform.Scheduler.Tests.Integration;

/// <summary>
/// Three real scheduler processes as peer replicas on a real 3-member etcd cluster: the replicas share the jobs out
/// through their leases (Dapr's leadership keys) and each job's ticks reach the app once, through whichever replica owns it.
/// Each replica has its own app stream (a fake sidecar), so the stream a trigger arrives on tells which replica fired it.
/// </summary>
public class EtcdReplicaTests(ITestOutputHelper output)
{
    private const string App = "replica-app";
    /// <summary>As <see cref="SchedulerUnderTest.EtcdArgs"/> sets it: short, so a failover fits in a test; Dapr's is 20 s.</summary>
    private static readonly TimeSpan LeaseTtl = TimeSpan.FromSeconds(5);
    private static readonly HttpClient Http = new() { Timeout = TimeSpan.FromSeconds(10) };

    private static string[] ReplicaArgs(EtcdCluster etcd, int index, TimeSpan? leaseTtl = null) =>
        [.. EtcdArgs(etcd), "--id", $"replica-{index}", .. leaseTtl is { } ttl ? [$"--Scheduler:Etcd:LeaseTtl={ttl:c}"] : Array.Empty<string>()];

    private static async Task<SchedulerUnderTest[]> StartReplicasAsync(EtcdCluster etcd, int count, TimeSpan? leaseTtl = null)
    {
        var replicas = new List<SchedulerUnderTest>();
        try
        {
            for (var i = 0; i < count; i++) replicas.Add(await StartAsync(ReplicaArgs(etcd, i, leaseTtl)));
            await WaitForAgreementAsync(replicas, count);
            return [.. replicas];
        }
        catch
        {
            foreach (var r in replicas) await r.DisposeAsync();
            throw;
        }
    }

    /// <summary>Waits until every replica says it fires its partition of <paramref name="total"/> (its log and /healthz).</summary>
    private static Task WaitForAgreementAsync(IEnumerable<SchedulerUnderTest> replicas, int total) =>
        Poll.UntilAsync(async () =>
        {
            foreach (var r in replicas)
            {
                if (!r.Process.Process.Output.Any(l => l.Contains($"of {total}", StringComparison.Ordinal) && l.Contains("fires partition", StringComparison.Ordinal))) return false;
                using var health = await Http.GetAsync($"http://127.0.0.1:{r.Process.HealthzPort}/healthz");
                if (health.StatusCode != HttpStatusCode.OK) return false;
            }
            return true;
        }, TimeSpan.FromSeconds(60), $"the replicas agreeing on {total}");

    private sealed record Delivery(string Job, DateTime Tick, int Replica, DateTimeOffset At);

    /// <summary>One app stream per replica (a fake sidecar), and everything every stream so far has received.</summary>
    private sealed class ReplicaStreams(SchedulerUnderTest[] replicas) : IAsyncDisposable
    {
        private readonly FakeSidecar?[] _current = new FakeSidecar?[replicas.Length];
        private readonly List<(int Replica, FakeSidecar Sidecar)> _all = [];

        public List<Delivery> Deliveries { get; } = [];

        public async Task ConnectAllAsync()
        {
            for (var i = 0; i < replicas.Length; i++)
            {
                _current[i] = await FakeSidecar.ConnectAsync(replicas[i], App);
                _all.Add((i, _current[i]!));
            }
        }

        public async Task CloseAsync(int replica)
        {
            Drain();
            if (_current[replica] is { } s) await s.DisposeAsync();
            _current[replica] = null;
        }

        public List<Delivery> Drain()
        {
            foreach (var (replica, sidecar) in _all)
                while (sidecar.Received.Reader.TryRead(out var r))
                    Deliveries.Add(new Delivery(r.Trigger.Name, r.Trigger.ScheduledTime.ToDateTime(), replica, r.At));
            return Deliveries;
        }

        /// <summary>Deliveries of the job the streams have counted; a count is taken before the answer goes back.</summary>
        public int Counted(string job) => _all.Sum(s => s.Sidecar.DeliveriesOf(job));

        public async ValueTask DisposeAsync()
        {
            foreach (var (_, sidecar) in _all) await sidecar.DisposeAsync();
        }
    }

    /// <summary>Reads until every job has <paramref name="ticks"/> distinct ticks and none is stored any more.</summary>
    private static async Task<List<Delivery>> CollectUntilDoneAsync(ReplicaStreams streams, SchedulerUnderTest any, string[] jobs, int ticks,
        TimeSpan timeout)
    {
        await UntilAsync(() => jobs.All(j => streams.Drain().Where(d => d.Job == j).Select(d => d.Tick).Distinct().Count() >= ticks),
            timeout, $"every job reaching {ticks} ticks", () => Progress(streams.Deliveries, jobs));
        await any.WaitForNoJobsAsync(App, 30);
        // Once no job is stored nothing more can fire, and every delivery was counted before its answer went back:
        // read until what arrived matches the counts, so a late extra delivery is seen, not missed.
        await UntilAsync(() => jobs.All(j => streams.Drain().Count(d => d.Job == j) == streams.Counted(j)),
            TimeSpan.FromSeconds(10), "every counted delivery read", () => Progress(streams.Deliveries, jobs));
        return streams.Deliveries;
    }

    /// <summary>A bounded wait for a condition on what the streams received; a timeout says how far each job got.</summary>
    private static async Task UntilAsync(Func<bool> condition, TimeSpan timeout, string what, Func<string> progress)
    {
        try { await Poll.UntilAsync(() => Task.FromResult(condition()), timeout, what); }
        catch (TimeoutException e) { throw new TimeoutException($"{e.Message} ({progress()})", e); }
    }

    private static string Progress(List<Delivery> deliveries, string[] jobs) =>
        string.Join(", ", jobs.Select(j => $"{j}={deliveries.Where(d => d.Job == j).Select(d => d.Tick).Distinct().Count()}"));

    /// <summary>No job changed hands: every tick of a job came from the same replica. A failure says what the replicas logged.</summary>
    private static void AssertEachJobFiredByOneReplica(List<Delivery> deliveries, string[] jobs, SchedulerUnderTest[] replicas)
    {
        var moved = jobs.Where(j => deliveries.Where(d => d.Job == j).Select(d => d.Replica).Distinct().Count() > 1).ToList();
        Assert.True(moved.Count == 0, $"fired by more than one replica: {string.Join(", ", moved)}; the replicas said:{Environment.NewLine}{LeadershipLog(replicas)}");
    }

    /// <summary>What each replica logged about the replicas and its lease, for a failure that a change of ownership explains.</summary>
    private static string LeadershipLog(IEnumerable<SchedulerUnderTest> replicas) =>
        string.Join(Environment.NewLine, replicas.SelectMany((r, i) => r.Process.Process.Output
            .Where(l => l.Contains("Replica replica-", StringComparison.Ordinal) || l.Contains("lease", StringComparison.OrdinalIgnoreCase)
                || l.Contains("etcd", StringComparison.Ordinal))
            .Select(l => $"[{i}] {l}")));

    /// <summary>Every job's ticks are the consecutive seconds of its schedule, <paramref name="ticks"/> of them: none lost, none extra.</summary>
    private static void AssertEveryTickOnce(List<Delivery> deliveries, string[] jobs, int ticks)
    {
        foreach (var job in jobs)
        {
            var seen = deliveries.Where(d => d.Job == job).Select(d => d.Tick).Distinct().Order().ToList();
            Assert.Equal(ticks, seen.Count);
            Assert.Equal(TimeSpan.FromSeconds(ticks - 1), seen[^1] - seen[0]);
        }
    }

    [EtcdFact]
    public async Task In_steady_state_each_tick_is_fired_by_one_replica_once_and_the_jobs_are_spread_over_all_three()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        var replicas = await StartReplicasAsync(etcd, 3);
        var streams = new ReplicaStreams(replicas);
        try
        {
            await streams.ConnectAllAsync();
            var jobs = Enumerable.Range(0, 30).Select(i => $"steady-{i}").ToArray();
            // Written through every replica in turn: any replica takes writes, and the owner hears of them through its watch.
            for (var i = 0; i < jobs.Length; i++) await replicas[i % 3].ScheduleAsync(jobs[i], schedule: "@every 1s", repeats: 4, app: App);

            var deliveries = await CollectUntilDoneAsync(streams, replicas[0], jobs, 4, TimeSpan.FromSeconds(60));

            AssertEveryTickOnce(deliveries, jobs, 4);
            var twice = deliveries.GroupBy(d => (d.Job, d.Tick)).Where(g => g.Count() > 1).Select(g => $"{g.Key.Job}@{g.Key.Tick:HH:mm:ss}").ToList();
            Assert.True(twice.Count == 0, "fired more than once: " + string.Join(", ", twice));
            // Each job has one owner, and with 30 random partition ids every replica owns some.
            AssertEachJobFiredByOneReplica(deliveries, jobs, replicas);
            Assert.Equal([0, 1, 2], deliveries.Select(d => d.Replica).Distinct().Order());
        }
        finally
        {
            await streams.DisposeAsync();
            foreach (var r in replicas) await r.DisposeAsync();
        }
    }

    [EtcdFact]
    public async Task A_rolling_restart_of_the_etcd_members_moves_no_job_and_fires_each_tick_once()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        // Dapr's lease: a restarted etcd leader costs an election (3 s on these members), which the tests' 5 s lease
        // would rightly fence; the 20 s one outlasts it.
        var replicas = await StartReplicasAsync(etcd, 3, TimeSpan.FromSeconds(20));
        var streams = new ReplicaStreams(replicas);
        try
        {
            await streams.ConnectAllAsync();
            var jobs = Enumerable.Range(0, 12).Select(i => $"rolling-{i}").ToArray();
            const int ticks = 25;
            foreach (var job in jobs) await replicas[0].ScheduleAsync(job, schedule: "@every 1s", repeats: ticks, app: App);
            await UntilAsync(() => jobs.All(j => streams.Drain().Any(d => d.Job == j)),
                TimeSpan.FromSeconds(30), "every job firing", () => Progress(streams.Deliveries, jobs));

            // Each member in turn, as an operator upgrades a cluster: every replica's streams to etcd break at least
            // once, while a quorum stays. The leases hold, so no replica may leave and no job may move.
            var restart = Stopwatch.StartNew();
            for (var m = 0; m < etcd.Size; m++) await etcd.RestartMemberAsync(m);
            var mostFired = jobs.Max(j => streams.Drain().Count(d => d.Job == j));
            output.WriteLine($"rolling restart: {restart.Elapsed.TotalSeconds:0.0} s; the furthest job had fired {mostFired} of {ticks} ticks by its end");
            var restartedWithTicksLeft = mostFired < ticks;

            var deliveries = await CollectUntilDoneAsync(streams, replicas[0], jobs, ticks, TimeSpan.FromSeconds(90));
            AssertEveryTickOnce(deliveries, jobs, ticks);
            AssertEachJobFiredByOneReplica(deliveries, jobs, replicas);
            Assert.True(restartedWithTicksLeft, "the jobs ended before the rolling restart did; the test proved nothing");
            // Every watch lives on one member and every member went away once: each replica's was cut and resumed.
            Assert.All(replicas, r => Assert.Contains(r.Process.Process.Output, l => l.Contains("resumed its watch of the replicas", StringComparison.Ordinal)));
        }
        finally
        {
            await streams.DisposeAsync();
            foreach (var r in replicas) await r.DisposeAsync();
        }
    }

    [EtcdFact]
    public async Task A_replica_killed_mid_run_has_its_jobs_taken_over_within_the_lease_time_and_no_tick_is_lost()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        var replicas = await StartReplicasAsync(etcd, 3);
        var streams = new ReplicaStreams(replicas);
        try
        {
            await streams.ConnectAllAsync();
            var jobs = Enumerable.Range(0, 30).Select(i => $"failover-{i}").ToArray();
            const int ticks = 15;
            foreach (var job in jobs) await replicas[0].ScheduleAsync(job, schedule: "@every 1s", repeats: ticks, app: App);

            // Run until every job has fired twice, so each replica's share is known by the stream it arrives on.
            await UntilAsync(() => jobs.All(j => streams.Drain().Count(d => d.Job == j) >= 2),
                TimeSpan.FromSeconds(30), "every job firing twice", () => Progress(streams.Deliveries, jobs));
            var ofKilled = streams.Deliveries.Where(d => d.Replica == 1).Select(d => d.Job).ToHashSet();
            Assert.NotEmpty(ofKilled);

            await replicas[1].Process.KillAsync();
            var killedAt = DateTimeOffset.UtcNow;
            await streams.CloseAsync(1);

            var deliveries = await CollectUntilDoneAsync(streams, replicas[0], jobs, ticks, TimeSpan.FromSeconds(90));

            AssertEveryTickOnce(deliveries, jobs, ticks);
            var takenOver = deliveries.Where(d => ofKilled.Contains(d.Job) && d.Replica != 1 && d.At > killedAt).Min(d => d.At);
            var failover = takenOver - killedAt;
            output.WriteLine($"failover: {failover.TotalSeconds:0.00} s from kill -9 to the first trigger of a moved job (lease ttl {LeaseTtl.TotalSeconds} s); " +
                $"{deliveries.Count} deliveries of {jobs.Length * ticks} ticks");
            // Its lease runs out within the ttl of its last renewal; the survivors then agree and reload in moments.
            Assert.InRange(failover, TimeSpan.Zero, LeaseTtl + TimeSpan.FromSeconds(5));
            Assert.Contains(replicas[0].Process.Process.Output, l => l.Contains("fires partition", StringComparison.Ordinal) && l.Contains("of 2", StringComparison.Ordinal));
        }
        finally
        {
            await streams.DisposeAsync();
            foreach (var r in replicas) await r.DisposeAsync();
        }
    }

    [EtcdFact]
    public async Task Every_replica_stopped_and_started_again_resumes_the_jobs_with_exact_counts_while_an_etcd_member_is_down()
    {
        await using var etcd = await EtcdCluster.StartAsync();
        var replicas = await StartReplicasAsync(etcd, 3);
        var streams = new ReplicaStreams(replicas);
        try
        {
            await streams.ConnectAllAsync();
            var jobs = Enumerable.Range(0, 12).Select(i => $"resume-{i}").ToArray();
            const int ticks = 10;
            foreach (var job in jobs) await replicas[0].ScheduleAsync(job, schedule: "@every 1s", repeats: ticks, app: App);
            await UntilAsync(() => jobs.All(j => streams.Drain().Any(d => d.Job == j)),
                TimeSpan.FromSeconds(30), "every job firing", () => Progress(streams.Deliveries, jobs));

            // One member of three down: the cluster keeps its quorum and the replicas carry on.
            await etcd.KillMemberAsync(2);
            for (var i = 0; i < 3; i++) await streams.CloseAsync(i);
            foreach (var r in replicas) Assert.Equal(0, await r.Process.StopAsync());
            var stoppedAt = Stopwatch.StartNew();

            foreach (var r in replicas) await r.RestartAsync();
            await WaitForAgreementAsync(replicas, 3);
            await streams.ConnectAllAsync();
            output.WriteLine($"all three back and agreed {stoppedAt.Elapsed.TotalSeconds:0.0} s after the stop");

            var deliveries = await CollectUntilDoneAsync(streams, replicas[0], jobs, ticks, TimeSpan.FromSeconds(90));
            // Ticks that fell due while every replica was down fire late, not skipped; the counts stop at the repeats.
            AssertEveryTickOnce(deliveries, jobs, ticks);
        }
        finally
        {
            await streams.DisposeAsync();
            foreach (var r in replicas) await r.DisposeAsync();
        }
    }
}
