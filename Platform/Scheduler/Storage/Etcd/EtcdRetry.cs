using Grpc.Core;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>What the job store and the replicas' election share about etcd errors that pass on their own.</summary>
internal static class EtcdRetry
{
    /// <summary>An error that a leader election or a member going away explains: the same request may succeed soon.</summary>
    public static bool IsTransient(Exception e) =>
        e is RpcException { StatusCode: StatusCode.Unavailable or StatusCode.DeadlineExceeded };

    /// <summary>
    /// Makes a request that changes nothing (a read), trying again after <paramref name="delay"/> through transient
    /// failures for up to <paramref name="window"/>; <paramref name="retrying"/> hears of each.
    /// </summary>
    public static async Task<T> ReadAsync<T>(Func<Task<T>> read, TimeProvider time, TimeSpan window, TimeSpan delay,
        Action<RpcException>? retrying, CancellationToken cancellationToken)
    {
        var giveUp = time.GetUtcNow() + window;
        while (true)
        {
            try
            {
                return await read();
            }
            catch (RpcException e) when (IsTransient(e) && time.GetUtcNow() < giveUp)
            {
                retrying?.Invoke(e);
                await Task.Delay(delay, time, cancellationToken);
            }
        }
    }
}
