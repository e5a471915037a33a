namespace Platform.Jobs;

public enum CronPeriod { Second, Minute, Hour, DayOfMonth, Month, DayOfWeek }
