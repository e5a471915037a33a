namespace Platform.Jobs;

/// <summary>
/// Builds Dapr's 6-field cron expression <c>sec min hour day-of-month month day-of-week</c>; every field starts as <c>*</c>.
/// </summary>
public sealed class CronExpressionBuilder
{
    private string _seconds = "*";
    private string _minutes = "*";
    private string _hours = "*";
    private string _dayOfMonth = "*";
    private string _month = "*";
    private string _dayOfWeek = "*";

    /// <summary>Sets a field to the given values (distinct, ascending, comma-separated).</summary>
    public CronExpressionBuilder On(OnCronPeriod period, params int[] values)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (values.Length == 0) throw new ArgumentException("At least one value is required.", nameof(values));
        var (min, max) = period switch
        {
            OnCronPeriod.Second or OnCronPeriod.Minute => (0, 59),
            OnCronPeriod.Hour => (0, 23),
            OnCronPeriod.DayOfMonth => (1, 31),
            _ => throw new ArgumentOutOfRangeException(nameof(period)),
        };
        foreach (var v in values)
            if (v < min || v > max)
                throw new ArgumentOutOfRangeException(nameof(values), v, $"{period} values must be between {min} and {max}.");
        var text = string.Join(',', values.Distinct().Order());
        switch (period)
        {
            case OnCronPeriod.Second: _seconds = text; break;
            case OnCronPeriod.Minute: _minutes = text; break;
            case OnCronPeriod.Hour: _hours = text; break;
            case OnCronPeriod.DayOfMonth: _dayOfMonth = text; break;
        }
        return this;
    }

    /// <summary>Sets the month field, e.g. <c>JAN,JUN</c>.</summary>
    public CronExpressionBuilder On(params MonthOfYear[] months)
    {
        ArgumentNullException.ThrowIfNull(months);
        if (months.Length == 0) throw new ArgumentException("At least one month is required.", nameof(months));
        _month = string.Join(',', months.Distinct().Order().Select(CronNames.Of));
        return this;
    }

    /// <summary>Sets the day-of-week field, e.g. <c>MON,FRI</c>.</summary>
    public CronExpressionBuilder On(params DayOfWeek[] days)
    {
        ArgumentNullException.ThrowIfNull(days);
        if (days.Length == 0) throw new ArgumentException("At least one day is required.", nameof(days));
        _dayOfWeek = string.Join(',', days.Distinct().Order().Select(CronNames.Of));
        return this;
    }

    /// <summary>Sets a field to the range <c>from-to</c>.</summary>
    public CronExpressionBuilder Through(ThroughCronPeriod period, int from, int to)
    {
        if (from >= to) throw new ArgumentException("The start of a range must be before its end.", nameof(from));
        var text = $"{from}-{to}";
        switch (period)
        {
            case ThroughCronPeriod.Second: _seconds = text; break;
            case ThroughCronPeriod.Minute: _minutes = text; break;
            case ThroughCronPeriod.Hour: _hours = text; break;
            case ThroughCronPeriod.DayOfMonth: _dayOfMonth = text; break;
            case ThroughCronPeriod.Month: _month = text; break;
            default: throw new ArgumentOutOfRangeException(nameof(period));
        }
        return this;
    }

    /// <summary>Sets the day-of-week field to a range, e.g. <c>MON-SAT</c>.</summary>
    public CronExpressionBuilder Through(DayOfWeek from, DayOfWeek to)
    {
        if (from >= to) throw new ArgumentException("The start of a range must be before its end.", nameof(from));
        _dayOfWeek = $"{CronNames.Of(from)}-{CronNames.Of(to)}";
        return this;
    }

    /// <summary>Sets the month field to a range, e.g. <c>JAN-MAR</c>.</summary>
    public CronExpressionBuilder Through(MonthOfYear from, MonthOfYear to)
    {
        if (from >= to) throw new ArgumentException("The start of a range must be before its end.", nameof(from));
        _month = $"{CronNames.Of(from)}-{CronNames.Of(to)}";
        return this;
    }

    /// <summary>Sets a field back to <c>*</c> (every value).</summary>
    public CronExpressionBuilder Each(CronPeriod period)
    {
        switch (period)
        {
            case CronPeriod.Second: _seconds = "*"; break;
            case CronPeriod.Minute: _minutes = "*"; break;
            case CronPeriod.Hour: _hours = "*"; break;
            case CronPeriod.DayOfMonth: _dayOfMonth = "*"; break;
            case CronPeriod.Month: _month = "*"; break;
            case CronPeriod.DayOfWeek: _dayOfWeek = "*"; break;
            default: throw new ArgumentOutOfRangeException(nameof(period));
        }
        return this;
    }

    /// <summary>Sets a field to the step <c>*/interval</c>.</summary>
    public CronExpressionBuilder Every(EveryCronPeriod period, int interval)
    {
        // Zero would be rejected by the runtime ("step of range should be a positive number"); say so here instead.
        if (interval <= 0) throw new ArgumentOutOfRangeException(nameof(interval), interval, "The interval must be positive.");
        var text = $"*/{interval}";
        switch (period)
        {
            case EveryCronPeriod.Second: _seconds = text; break;
            case EveryCronPeriod.Minute: _minutes = text; break;
            case EveryCronPeriod.Hour: _hours = text; break;
            case EveryCronPeriod.Month: _month = text; break;
            case EveryCronPeriod.DayInMonth: _dayOfMonth = text; break;
            case EveryCronPeriod.DayInWeek: _dayOfWeek = text; break;
            default: throw new ArgumentOutOfRangeException(nameof(period));
        }
        return this;
    }

    public override string ToString() => $"{_seconds} {_minutes} {_hours} {_dayOfMonth} {_month} {_dayOfWeek}";
}
