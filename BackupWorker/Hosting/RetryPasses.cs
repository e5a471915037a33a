namespace BackupWorker.Hosting;

/// <summary>
/// What the worker's retry services share: a pass every poll interval until the worker stops, a failed pass logged and
/// tried again at the next one, and the exponential back-off between attempts of one thing.
/// </summary>
public static class RetryPasses
{
    /// <summary>How long after the <paramref name="attempts"/>th failed attempt in a row the next one is due: doubling from <paramref name="initial"/> up to <paramref name="max"/>.</summary>
    public static TimeSpan Backoff(int attempts, TimeSpan initial, TimeSpan max)
    {
        var factor = Math.Pow(2, Math.Clamp(attempts - 1, 0, 30));
        return TimeSpan.FromTicks((long)Math.Min(initial.Ticks * factor, max.Ticks));
    }

    /// <summary>
    /// Runs <paramref name="pass"/> every <paramref name="interval"/> (read before each wait, so a changed option applies)
    /// until <paramref name="stoppingToken"/>. A pass the catalog or disk failed is given to <paramref name="failed"/>.
    /// </summary>
    public static async Task RunAsync(Func<TimeSpan> interval, Func<CancellationToken, Task> pass, Action<string> failed,
        TimeProvider time, CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(interval(), time, stoppingToken);
                await pass(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException)
            {
                failed(e.Message);
            }
        }
    }
}
