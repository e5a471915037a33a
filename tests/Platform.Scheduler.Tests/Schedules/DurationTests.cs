using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Tests.Schedules;

public class DurationTests
{
    [Theory]
    [InlineData("0", 0L)]
    [InlineData("0s", 0L)]
    [InlineData("10s", 10_000_000_000L)]
    [InlineData("-1.5h", -5_400_000_000_000L)]
    [InlineData("+1m", 60_000_000_000L)]
    [InlineData("1h30m", 5_400_000_000_000L)]
    [InlineData("500ms", 500_000_000L)]
    [InlineData("2us", 2_000L)]
    [InlineData("2µs", 2_000L)]
    [InlineData("7ns", 7L)]
    [InlineData(".5s", 500_000_000L)]
    [InlineData("1.s", 1_000_000_000L)]
    public void Go_duration_parses(string text, long nanoseconds)
    {
        Assert.True(GoDuration.TryParse(text, out var ns, out var error), error);
        Assert.Equal(nanoseconds, ns);
    }

    [Theory]
    [InlineData("", "time: invalid duration \"\"")]
    [InlineData("abc", "time: invalid duration \"abc\"")]
    [InlineData("1", "time: missing unit in duration \"1\"")]
    [InlineData("1d", "time: unknown unit \"d\" in duration \"1d\"")]
    [InlineData(".s", "time: invalid duration \".s\"")]
    [InlineData("9999999999h", "time: invalid duration \"9999999999h\"")]
    public void Go_duration_rejects(string text, string message)
    {
        Assert.False(GoDuration.TryParse(text, out _, out var error));
        Assert.Equal(message, error);
    }

    [Theory]
    [InlineData("P1Y2M3DT4H5M6S", 1, 2, 3, 4 * 3600 + 5 * 60 + 6, -1)]
    [InlineData("P2W", 0, 0, 14, 0, -1)]
    [InlineData("PT1M", 0, 0, 0, 60, -1)]
    [InlineData("PT", 0, 0, 0, 0, -1)]
    [InlineData("R2/PT1S", 0, 0, 0, 1, 2)]
    public void Iso_duration_parses(string text, int years, int months, int days, int seconds, int repetitions)
    {
        Assert.True(IsoDuration.TryParse(text, out var d));
        Assert.Equal(new IsoDuration(years, months, days, TimeSpan.FromSeconds(seconds), repetitions), d);
    }

    [Theory]
    [InlineData("PT1.5S")]
    [InlineData("1M")]
    [InlineData("P1H")]
    public void Iso_duration_rejects(string text) => Assert.False(IsoDuration.TryParse(text, out _));

    [Fact]
    public void Iso_duration_uses_calendar_arithmetic()
    {
        Assert.True(IsoDuration.TryParse("P1M", out var d));
        Assert.Equal(new DateTimeOffset(2026, 2, 28, 0, 0, 0, TimeSpan.Zero), d.AddTo(new DateTimeOffset(2026, 1, 31, 0, 0, 0, TimeSpan.Zero)));
    }
}
