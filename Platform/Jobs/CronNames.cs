namespace Platform.Jobs;

internal static class CronNames
{
    public static string Of(DayOfWeek day) => day.ToString()[..3].ToUpperInvariant();
    public static string Of(MonthOfYear month) => month.ToString()[..3].ToUpperInvariant();
}
