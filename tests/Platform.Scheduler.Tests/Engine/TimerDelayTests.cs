using Platform.Scheduler.Engine;

namespace Platform.Scheduler.Tests.Engine;

public class TimerDelayTests
{
    [Theory]
    [InlineData(0L, 0.0)]
    [InlineData(-5_000L, 0.0)]
    [InlineData(1L, 1.0)]                // 100 ns ahead: a truncating timer would fire at once and spin
    [InlineData(3_000L, 1.0)]            // 0.3 ms
    [InlineData(10_000L, 1.0)]           // exactly 1 ms
    [InlineData(12_000L, 2.0)]           // 1.2 ms
    [InlineData(50_000_000L, 5_000.0)]   // 5 s
    public void The_wait_is_rounded_up_to_a_whole_millisecond(long ticksUntilDue, double expectedMs)
    {
        Assert.Equal(TimeSpan.FromMilliseconds(expectedMs), TriggerQueue.TimerDelay(ticksUntilDue));
    }
}
