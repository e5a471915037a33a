using Platform.Sidecar.AppChannel;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Platform.Sidecar.Tests;

/// <summary>A job delivery that the app does not answer in time counts as failed.</summary>
public class AppJobTimeoutTests
{
    private sealed class HangingApp : IAppChannel
    {
        public int Calls;
        public async Task<bool> DeliverJobAsync(JobTrigger trigger, CancellationToken ct)
        {
            Interlocked.Increment(ref Calls);
            await Task.Delay(Timeout.Infinite, ct);
            return true;
        }

        public Task<bool> ProbeHealthAsync(string path, CancellationToken ct) => Task.FromResult(true);
    }

    [Fact]
    public async Task A_delivery_unanswered_within_the_timeout_is_a_failure()
    {
        var time = new FakeTimeProvider();
        var app = new HangingApp();
        var channel = new TimedAppChannel(app, TimeSpan.FromSeconds(10), time, NullLogger.Instance);
        var delivery = channel.DeliverJobAsync(new JobTrigger("slow", null), CancellationToken.None);
        time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(delivery.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(await delivery.WaitAsync(TimeSpan.FromSeconds(10)));
        Assert.Equal(1, app.Calls);
    }

    [Fact]
    public async Task Shutting_down_is_not_mistaken_for_a_timeout()
    {
        var channel = new TimedAppChannel(new HangingApp(), TimeSpan.FromSeconds(10), new FakeTimeProvider(), NullLogger.Instance);
        using var stopping = new CancellationTokenSource();
        var delivery = channel.DeliverJobAsync(new JobTrigger("slow", null), stopping.Token);
        await stopping.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => delivery.WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
