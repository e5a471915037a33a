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

public class CronExpressionBuilderTests
{
    [Fact]
    public void Default_is_every_second() => Assert.Equal("* * * * * *", new CronExpressionBuilder().ToString());

    [Fact]
    public void Every_sets_a_step() =>
        Assert.Equal("*/5 * * * * *", new CronExpressionBuilder().Every(EveryCronPeriod.Second, 5).ToString());

    [Fact]
    public void On_sets_sorted_distinct_values()
    {
        Assert.Equal("0 30 * * * *", new CronExpressionBuilder().On(OnCronPeriod.Second, 0).On(OnCronPeriod.Minute, 30).ToString());
        Assert.Equal("5 12 16 7 * *", new CronExpressionBuilder().On(OnCronPeriod.Second, 5).On(OnCronPeriod.Minute, 12)
            .On(OnCronPeriod.Hour, 16).On(OnCronPeriod.DayOfMonth, 7).ToString());
        Assert.Equal("1,5,9 * * * * *", new CronExpressionBuilder().On(OnCronPeriod.Second, 9, 1, 5, 1).ToString());
    }

    [Fact]
    public void Combined_example_matches_dapr()
    {
        var cron = new CronExpressionBuilder()
            .On(OnCronPeriod.Second, 15)
            .Every(EveryCronPeriod.Minute, 2)
            .Every(EveryCronPeriod.Hour, 4)
            .Through(ThroughCronPeriod.DayOfMonth, 2, 13)
            .On(MonthOfYear.January, MonthOfYear.August, MonthOfYear.June)
            .Through(DayOfWeek.Monday, DayOfWeek.Saturday);
        Assert.Equal("15 */2 */4 2-13 JAN,JUN,AUG MON-SAT", cron.ToString());
        var schedule = Models.DaprJobSchedule.FromCronExpression(cron);
        Assert.True(schedule.IsCronExpression);
    }

    [Fact]
    public void Out_of_range_values_are_rejected()
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new CronExpressionBuilder().On(OnCronPeriod.Second, 60));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CronExpressionBuilder().On(OnCronPeriod.Hour, 24));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CronExpressionBuilder().On(OnCronPeriod.DayOfMonth, 0));
        Assert.Throws<ArgumentOutOfRangeException>(() => new CronExpressionBuilder().Every(EveryCronPeriod.Minute, 0));
        Assert.Throws<ArgumentException>(() => new CronExpressionBuilder().Through(ThroughCronPeriod.Hour, 5, 5));
        Assert.Throws<ArgumentException>(() => new CronExpressionBuilder().Through(MonthOfYear.June, MonthOfYear.January));
    }

    [Fact]
    public void Each_resets_a_field() =>
        Assert.Equal("* 3 * * * *", new CronExpressionBuilder().On(OnCronPeriod.Second, 1).On(OnCronPeriod.Minute, 3).Each(CronPeriod.Second).ToString());
}
