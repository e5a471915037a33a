using System.Text.Json;
using Platform.Jobs.Models;

namespace Platform.Jobs.Tests;

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
