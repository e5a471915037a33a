namespace Platform.Sidecar.AppChannel;

/// <summary>
/// Bounds each job delivery to the app (--app-job-timeout): an app that has not answered by then is cancelled and the
/// trigger counts as FAILED, so the job's failure policy retries it, instead of holding the trigger (and the
/// scheduler's patience) for ever. The bound is kept below the scheduler's ack timeout, which otherwise redelivers.
/// </summary>
internal sealed partial class TimedAppChannel(IAppChannel inner, TimeSpan timeout, TimeProvider time, ILogger logger) : IAppChannel
{
    public async Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct)
    {
        using var expired = new CancellationTokenSource(timeout, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, expired.Token);
        try
        {
            // WaitAsync as well: the answer is bounded even if the channel does not honour cancellation promptly.
            return await inner.DeliverJobAsync(trigger, linked.Token).WaitAsync(expired.Token);
        }
        catch (OperationCanceledException) when (expired.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            LogTimedOut(logger, trigger.Name, timeout.TotalMilliseconds);
            return false;
        }
    }

    public Task<bool> ProbeHealthAsync(string path, CancellationToken ct) => inner.ProbeHealthAsync(path, ct);

    [LoggerMessage(Level = LogLevel.Warning, Message = "App did not answer job {JobName} within {Milliseconds} ms; the trigger counts as failed")]
    private static partial void LogTimedOut(ILogger logger, string jobName, double milliseconds);
}
