using Etcdserverpb;
using Platform.Scheduler.Storage.Etcd;

namespace Platform.Scheduler.Leadership;

/// <summary>Keeps one replica's lease alive for a term, and ends the term when it cannot.</summary>
internal sealed partial class EtcdLeaseKeeper(EtcdConnection connection, TimeProvider time, TimeSpan keepAliveInterval, TimeSpan fenceAfter, ILogger logger)
{
    /// <summary>
    /// Renews the lease every third of its time to live. Without an answer for the fence time (counted from
    /// when the last answered renewal was sent, which is no later than etcd's own count) the term ends, so this replica
    /// stops firing before etcd could give its jobs to the others.
    /// </summary>
    public async Task RunAsync(long lease, Action<string> lose, CancellationToken token)
    {
        var lastAnswered = time.GetUtcNow();
        while (!token.IsCancellationRequested)
        {
            try
            {
                using var call = connection.Lease.LeaseKeepAlive(await connection.StreamHeadersAsync(token), cancellationToken: token);
                while (true)
                {
                    var sent = time.GetUtcNow();
                    await call.RequestStream.WriteAsync(new LeaseKeepAliveRequest { ID = lease }, token);
                    using var answer = CancellationTokenSource.CreateLinkedTokenSource(token);
                    answer.CancelAfter(keepAliveInterval);
                    if (!await call.ResponseStream.MoveNext(answer.Token)) break;
                    if (call.ResponseStream.Current.TTL <= 0)
                    {
                        lose("the lease ran out");
                        return;
                    }
                    lastAnswered = sent;
                    await Task.Delay(keepAliveInterval, time, token);
                }
            }
            catch (Exception) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                LogKeepAliveFailed(logger, e.Message);
            }
            var silent = time.GetUtcNow() - lastAnswered;
            if (silent >= fenceAfter)
            {
                lose($"no lease renewal was answered for {silent.TotalSeconds:0.#} s");
                return;
            }
            try { await Task.Delay(TimeSpan.FromMilliseconds(250), time, token); }
            catch (OperationCanceledException) { return; }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "A lease renewal failed: {Reason}")]
    private static partial void LogKeepAliveFailed(ILogger logger, string reason);
}
