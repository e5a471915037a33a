namespace Platform.Jobs;

public enum OnCronPeriod { Second, Minute, Hour, DayOfMonth }
