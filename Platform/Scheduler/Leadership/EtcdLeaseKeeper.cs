using Etcdserverpb;
using Platform.Scheduler.Storage.Etcd;

namespace Platform.Scheduler.Leadership;

/// <summary>Keeps one replica's lease alive for a term, and ends the term when it cannot.</summary>
internal sealed partial class EtcdLeaseKeeper(EtcdConnection connection, TimeProvider time, TimeSpan ttl, ILogger logger)
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromMilliseconds(250);

    /// <summary>How long without an answered renewal until a replica lets go of a lease of <paramref name="ttl"/>: before etcd can expire it.</summary>
    public static TimeSpan FenceAfter(TimeSpan ttl) => ttl - ttl / 4;

    /// <summary>
    /// A sixth of the lease: etcd's own client renews every third, but it counts the lease from each answer and this
    /// keeper counts from each send and fences at three quarters, so renewing more often keeps the same slack (over
    /// half the lease) for a member going away or an election.
    /// </summary>
    private TimeSpan RenewEvery => ttl / 6;

    /// <summary>
    /// Renews the lease every <see cref="RenewEvery"/>, counted from when the last answered renewal was sent. A renewal not
    /// answered within that time is given up with its stream, and a new stream (which the round-robin channel opens on
    /// the next member) tries again: a member that went away or hangs in an election costs one short attempt, not the
    /// lease. Without an answer for the fence time, counted from when the last answered renewal (or the grant) was sent,
    /// which is no later than etcd's own count, the term ends there and then, so this replica stops firing before etcd
    /// could give its jobs to the others.
    /// </summary>
    public async Task RunAsync(long lease, DateTimeOffset grantSent, Action<string> lose, CancellationToken token)
    {
        var lastAnswered = grantSent;
        while (!token.IsCancellationRequested)
        {
            if (AnswerWithin(lastAnswered) <= TimeSpan.Zero)
            {
                lose($"no lease renewal was answered for {(time.GetUtcNow() - lastAnswered).TotalSeconds:0.#} s");
                return;
            }
            // Cancels the stream when a renewal on it goes unanswered too long; idle between renewals.
            using var unanswered = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
            using var call = CancellationTokenSource.CreateLinkedTokenSource(token, unanswered.Token);
            try
            {
                unanswered.CancelAfter(AnswerWithin(lastAnswered));
                using var stream = connection.Lease.LeaseKeepAlive(await connection.StreamHeadersAsync(call.Token), cancellationToken: call.Token);
                while (true)
                {
                    var sent = time.GetUtcNow();
                    await stream.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }, call.Token);
                    if (!await stream.ResponseStream.MoveNext(call.Token)) break;
                    if (stream.ResponseStream.Current.TTL <= 0)
                    {
                        lose("the lease ran out");
                        return;
                    }
                    lastAnswered = sent;
                    unanswered.CancelAfter(Timeout.InfiniteTimeSpan);
                    var due = sent + RenewEvery - time.GetUtcNow();
                    if (due > TimeSpan.Zero) await Task.Delay(due, time, token);
                    unanswered.CancelAfter(AnswerWithin(lastAnswered));
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogRenewalFailed(logger, (time.GetUtcNow() - lastAnswered).TotalSeconds, unanswered.IsCancellationRequested ? "no answer in time" : e.Message);
            }
            try { await Task.Delay(RetryDelay, time, token); }
            catch (OperationCanceledException) { return; }
        }
    }

    /// <summary>How long a renewal sent now may wait for its answer: an interval, and never past the fence.</summary>
    private TimeSpan AnswerWithin(DateTimeOffset lastAnswered)
    {
        var left = lastAnswered + FenceAfter(ttl) - time.GetUtcNow();
        return left <= TimeSpan.Zero ? TimeSpan.Zero : left < RenewEvery ? left : RenewEvery;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "A lease renewal failed {Silent:0.0} s after the last answered one was sent: {Reason}; trying again")]
    private static partial void LogRenewalFailed(ILogger logger, double silent, string reason);
}
