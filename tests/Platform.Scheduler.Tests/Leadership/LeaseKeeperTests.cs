using Microsoft.Extensions.Logging.Abstractions;
using Platform.Scheduler.Leadership;
using Platform.Scheduler.Storage.Etcd;
using TestSupport;
using Xunit.Abstractions;

namespace Platform.Scheduler.Tests.Leadership;

/// <summary>
/// The lease keeper against a scripted etcd over real gRPC, in real time: it must ride out a member going away and
/// elections (renewals that get no answer for a while), and it must end the term before etcd could expire the lease.
/// A 12 s lease, as these scripts are timed for: renewals every 2 s, the fence at 9 s.
/// </summary>
public class LeaseKeeperTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Ttl = TimeSpan.FromSeconds(12);
    private static readonly TimeSpan RenewEvery = Ttl / 6;
    private static readonly TimeSpan FenceAfter = Ttl - Ttl / 4;

    private sealed class Run : IAsyncDisposable
    {
        private readonly CancellationTokenSource _stop = new();
        private readonly EtcdConnection _connection;
        public ScriptedEtcdLease Etcd { get; }
        public TaskCompletionSource<(string Reason, DateTimeOffset At)> Lost { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
        public Task Keeper { get; }

        private Run(ScriptedEtcdLease etcd)
        {
            Etcd = etcd;
            _connection = new EtcdConnection([etcd.Endpoint], null, null);
            Keeper = new EtcdLeaseKeeper(_connection, TimeProvider.System, Ttl, NullLogger.Instance)
                .RunAsync(lease: 7, DateTimeOffset.UtcNow, reason => Lost.TrySetResult((reason, DateTimeOffset.UtcNow)), _stop.Token);
        }

        public static async Task<Run> StartAsync(params StreamScript[] scripts)
        {
            var etcd = new ScriptedEtcdLease(scripts, (long)Ttl.TotalSeconds);
            await etcd.StartAsync();
            return new Run(etcd);
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await Keeper.WaitAsync(TimeSpan.FromSeconds(10));
            _connection.Dispose();
            await Etcd.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_member_going_away_and_two_unanswered_streams_after_it_cost_no_lease()
    {
        // The first member answers once and is killed; the next two streams meet members waiting out an election;
        // the fourth answers. Renewing every third of the lease and waiting that long for each answer, the old keeper
        // went 12.9 s without an answer here and gave up the lease it still held.
        await using var run = await Run.StartAsync(StreamScript.AnswerOnceThenDrop, StreamScript.Hang, StreamScript.Hang, StreamScript.Answer);

        await Poll.UntilAsync(() => Task.FromResult(run.Etcd.Answered.Count(a => a.Stream == 3) >= 2 || run.Lost.Task.IsCompleted),
            Ttl * 2, "two renewals answered on the fourth stream");

        if (run.Lost.Task.IsCompleted) Assert.Fail($"the term ended: {(await run.Lost.Task).Reason}");
        var answered = run.Etcd.Answered.Select(a => a.At).ToList();
        var longestSilence = answered.Zip(answered.Skip(1), (a, b) => b - a).Max();
        output.WriteLine($"renewals answered at {string.Join(", ", answered.Select(a => $"{(a - answered[0]).TotalSeconds:0.00}"))} s; " +
            $"longest silence {longestSilence.TotalSeconds:0.00} s of the {FenceAfter.TotalSeconds} s fence");
        Assert.True(longestSilence < FenceAfter, $"{longestSilence.TotalSeconds:0.0} s between answered renewals");
    }

    [Fact]
    public async Task With_no_renewal_answered_the_term_ends_at_the_fence_before_etcd_could_expire_the_lease()
    {
        // Cut off from a quorum: every stream after the first answer hangs. etcd restarts the lease's time to live when
        // it takes a renewal, so the replica must have stopped firing within the lease of the last one taken. The old
        // keeper waited a third of the lease for each answer and noticed the fence only after: it let go 13 s after
        // the last renewal etcd took, a second after etcd could have given its jobs to another replica.
        await using var run = await Run.StartAsync(StreamScript.AnswerOnceThenDrop, StreamScript.Hang);

        var (reason, lostAt) = await run.Lost.Task.WaitAsync(Ttl * 2);

        var sinceLastTaken = lostAt - run.Etcd.Answered.Max(a => a.At);
        output.WriteLine($"let go {sinceLastTaken.TotalSeconds:0.00} s after the last renewal taken ({reason})");
        Assert.Contains("no lease renewal was answered", reason, StringComparison.Ordinal);
        // Not much before the fence either: the keeper counts from the send, etcd from the receipt, and the first
        // renewal of a fresh process waits for its connection.
        Assert.InRange(sinceLastTaken, FenceAfter - RenewEvery, Ttl - TimeSpan.FromSeconds(1));
    }
}
