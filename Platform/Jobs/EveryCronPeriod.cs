namespace Platform.Jobs;

public enum EveryCronPeriod { Second, Minute, Hour, Month, DayInMonth, DayInWeek }
