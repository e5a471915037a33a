using System.Text.Json;
using Platform.Jobs.Models;

namespace Platform.Jobs.Tests;

public class DaprJobScheduleTests
{
    [Theory]
    [InlineData("12:08:16", "@every 12h8m16s")]
    [InlineData("00:00:05", "@every 5s")]
    [InlineData("01:30:00", "@every 1h30m")]
    [InlineData("02:04:24.028", "@every 2h4m24s28ms")]
    [InlineData("1.02:00:00", "@every 26h")]
    [InlineData("3.00:00:00", "@every 72h")]
    [InlineData("00:00:00.0000015", "@every 1us500ns")]
    public void FromDuration_writes_a_go_duration_and_keeps_days(string span, string expected)
    {
        var schedule = DaprJobSchedule.FromDuration(TimeSpan.Parse(span, System.Globalization.CultureInfo.InvariantCulture));
        Assert.Equal(expected, schedule.ExpressionValue);
        Assert.True(schedule.IsPrefixedPeriodExpression);
        Assert.True(schedule.IsDurationExpression);
        Assert.False(schedule.IsCronExpression);
        Assert.False(schedule.IsPointInTimeExpression);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-5)]
    public void FromDuration_rejects_zero_and_negative(int seconds) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => DaprJobSchedule.FromDuration(TimeSpan.FromSeconds(seconds)));

    [Fact]
    public void Named_periods_have_dapr_strings()
    {
        Assert.Equal("@yearly", DaprJobSchedule.Yearly.ExpressionValue);
        Assert.Equal("@monthly", DaprJobSchedule.Monthly.ExpressionValue);
        Assert.Equal("@weekly", DaprJobSchedule.Weekly.ExpressionValue);
        Assert.Equal("@daily", DaprJobSchedule.Daily.ExpressionValue);
        Assert.Equal("@midnight", DaprJobSchedule.Midnight.ExpressionValue);
        Assert.Equal("@hourly", DaprJobSchedule.Hourly.ExpressionValue);
        Assert.All(new[] { DaprJobSchedule.Yearly, DaprJobSchedule.Daily, DaprJobSchedule.Hourly }, s => Assert.True(s.IsPrefixedPeriodExpression));
    }

    [Fact]
    public void FromDateTime_is_a_round_trip_point_in_time()
    {
        var when = new DateTimeOffset(2025, 2, 10, 8, 34, 15, 47, TimeSpan.Zero).AddTicks(990);
        var schedule = DaprJobSchedule.FromDateTime(when);
        Assert.Equal("2025-02-10T08:34:15.0470990+00:00", schedule.ExpressionValue);
        Assert.True(schedule.IsPointInTimeExpression);
        Assert.False(schedule.IsCronExpression);
    }

    [Theory]
    [InlineData("*/5 * * * * *", true)]
    [InlineData("0 30 * * * *", true)]
    [InlineData("15 */2 */4 2-13 JAN,JUN,AUG MON-SAT", true)]
    [InlineData("TZ=Europe/Paris 0 0 9 * * *", true)]
    [InlineData("* * * * *", false)]
    [InlineData("@daily", false)]
    public void IsCronExpression_wants_six_fields(string expression, bool expected) =>
        Assert.Equal(expected, DaprJobSchedule.FromExpression(expression).IsCronExpression);

    [Fact]
    public void Unknown_descriptor_is_not_a_period()
    {
        var schedule = DaprJobSchedule.FromExpression("@fortnightly");
        Assert.False(schedule.IsPrefixedPeriodExpression);
        Assert.False(schedule.IsPointInTimeExpression);
    }

    [Fact]
    public void Json_form_is_the_expression_string()
    {
        var json = JsonSerializer.Serialize(DaprJobSchedule.FromExpression("@every 1m"));
        Assert.Equal("\"@every 1m\"", json);
        Assert.Equal("@daily", JsonSerializer.Deserialize<DaprJobSchedule>("\"@daily\"")!.ExpressionValue);
    }
}
