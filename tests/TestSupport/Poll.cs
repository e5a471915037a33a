using System.Text.Json;

namespace TestSupport;

/// <summary>
/// Bounded polling, for state that offers no event to await (an HTTP or gRPC API, /proc). Errors a server gives while
/// it starts or restarts (connection refused, a cut response) count as "not yet"; the timeout names the last one.
/// </summary>
public static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Calls <paramref name="probe"/> until it returns a value and returns that value.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what) where T : struct
    {
        using var cts = new CancellationTokenSource(timeout);
        Exception? last = null;
        while (true)
        {
            try
            {
                if (await probe() is { } value) return value;
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException or IOException)
            {
                last = ex;
            }
            try { await Task.Delay(Interval, cts.Token); }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{what}: not within {timeout}." + (last is null ? "" : $" Last error: {last.Message}"));
            }
        }
    }

    /// <summary>Calls <paramref name="probe"/> until it returns an object and returns that object.</summary>
    public static async Task<T> UntilAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, string what) where T : class =>
        (await UntilAsync(async () => await probe() is { } found ? new Found<T>(found) : (Found<T>?)null, timeout, what)).Value;

    private readonly record struct Found<T>(T Value);

    /// <summary>Calls <paramref name="condition"/> until it holds.</summary>
    public static Task UntilAsync(Func<Task<bool>> condition, TimeSpan timeout, string what) =>
        UntilAsync(async () => await condition() ? true : (bool?)null, timeout, what);
}
