using static Platform.Scheduler.Tests.Engine.EngineHarness;

namespace Platform.Scheduler.Tests.Engine;

/// <summary><see cref="Platform.Scheduler.Engine.SchedulerEngine.WhenIdleAsync"/>, which every "nothing was sent" check relies on.</summary>
public class IdleSignalTests
{
    [Fact]
    public async Task Once_idle_every_trigger_due_by_now_has_been_sent_and_none_later()
    {
        await using var h = await StartAsync();
        using var stream = h.Engine.OpenStream("default", "app1");
        for (var i = 1; i <= 40; i++) await h.ScheduleAsync($"j{i:D2}", due: $"{i}s");

        h.Time.Advance(TimeSpan.FromSeconds(25));
        await h.IdleAsync();

        // Read without waiting: the signal itself must guarantee they are there.
        var sent = new List<string>();
        while (stream.Triggers.TryRead(out var t)) sent.Add(t.Key.Name);
        Assert.Equal(Enumerable.Range(1, 25).Select(i => $"j{i:D2}"), sent.Order());
    }

    [Fact]
    public async Task Idle_does_not_wait_for_the_next_due_time()
    {
        await using var h = await StartAsync();
        await h.ScheduleAsync("later", schedule: "@hourly");
        // Bounded by IdleAsync's own timeout; the fake clock never reaches the hour.
        await h.IdleAsync();
        await h.IdleAsync();
    }

    [Fact]
    public async Task Waiting_for_idle_fails_rather_than_hangs_once_the_engine_has_stopped()
    {
        await using var h = await StartAsync();
        await h.Engine.StopAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => h.Engine.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10)));
    }
}
