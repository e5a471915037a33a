namespace Platform.Jobs;

public enum ThroughCronPeriod { Second, Minute, Hour, DayOfMonth, Month }
