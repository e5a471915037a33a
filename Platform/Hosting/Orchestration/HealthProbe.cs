namespace Platform.Hosting.Orchestration;

/// <summary>
/// Polls one health check while a process runs: quickly (50 ms doubling to 250 ms; a refused connection costs nothing)
/// until it passes, so that each step of a WaitFor chain starts as soon as possible, then every 10 s to notice a
/// resource that stops answering.
/// </summary>
internal sealed class HealthProbe(Func<CancellationToken, Task<bool>> check, TimeProvider time)
{
    public static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(50);
    public static readonly TimeSpan MaxRetry = TimeSpan.FromMilliseconds(250);
    public static readonly TimeSpan WhileHealthy = TimeSpan.FromSeconds(10);

    public async Task RunAsync(Action<bool> report, CancellationToken cancellationToken)
    {
        var retry = FirstRetry;
        bool? last = null;
        while (!cancellationToken.IsCancellationRequested)
        {
            bool healthy;
            try { healthy = await check(cancellationToken); }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested) { return; }
            catch (Exception) { healthy = false; }
            if (healthy != last) report(healthy);
            last = healthy;
            TimeSpan wait;
            if (healthy)
            {
                retry = FirstRetry;
                wait = WhileHealthy;
            }
            else
            {
                wait = retry;
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, MaxRetry.Ticks));
            }
            try { await Task.Delay(wait, time, cancellationToken); }
            catch (OperationCanceledException) { return; }
        }
    }

    public static Func<CancellationToken, Task<bool>> Http(HttpClient client, string url, int? statusCode) => async ct =>
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        try
        {
            using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return statusCode is { } expected ? (int)response.StatusCode == expected : response.IsSuccessStatusCode;
        }
        catch (HttpRequestException) { return false; }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested) { return false; }
    };
}
