using System.Globalization;

namespace Platform.Scheduler.Schedules;

/// <summary>
/// A six-field cron schedule (sec min hour dom month dow) evaluated in one time zone (UTC unless a
/// TZ=/CRON_TZ= prefix names another). Matching is done on wall-clock time; the absolute instants follow the
/// zone's offset changes, so a spring-forward gap skips wall times that do not exist and a fall-back hour is
/// seen twice, as with robfig/cron which Dapr uses.
/// </summary>
public sealed class CronSchedule : ISchedule
{
    // Set on a field parsed from a bare * or ?, for the day-of-month / day-of-week OR rule.
    internal const ulong StarBit = 1UL << 63;

    private readonly ulong _second, _minute, _hour, _dom, _month, _dow;

    internal CronSchedule(ulong second, ulong minute, ulong hour, ulong dom, ulong month, ulong dow, TimeZoneInfo zone)
    {
        _second = second; _minute = minute; _hour = hour; _dom = dom; _month = month; _dow = dow;
        Zone = zone;
    }

    public TimeZoneInfo Zone { get; }

    public DateTimeOffset? Next(DateTimeOffset after)
    {
        // Near the end of representable time (year 9999) the search runs off DateTime's range: no next tick then.
        try { return NextCore(after); }
        catch (ArgumentOutOfRangeException) { return null; }
    }

    private DateTimeOffset? NextCore(DateTimeOffset after)
    {
        // Cron resolution is one second: search from the next whole second.
        var utcTicks = after.UtcTicks;
        var t = utcTicks - utcTicks % TimeSpan.TicksPerSecond + TimeSpan.TicksPerSecond;
        var horizon = t + TimeSpan.TicksPerDay * 366 * 5;
        while (t <= horizon)
        {
            var offset = Zone.GetUtcOffset(new DateTime(t, DateTimeKind.Utc));
            var wall = new DateTime(t + offset.Ticks, DateTimeKind.Unspecified);
            var match = NextWallMatch(wall);
            if (match is null) return null;
            var candidate = match.Value.Ticks - offset.Ticks;
            if (candidate > DateTime.MaxValue.Ticks || candidate < 0) return null;
            var offsetThen = Zone.GetUtcOffset(new DateTime(candidate, DateTimeKind.Utc));
            if (offsetThen == offset) return new DateTimeOffset(candidate, TimeSpan.Zero);
            // The offset changes between t and the candidate: restart the wall-clock search at the change.
            t = FirstOffsetChange(t, candidate, offset);
        }
        return null;
    }

    private long FirstOffsetChange(long from, long to, TimeSpan offset)
    {
        // Offsets are piecewise constant: binary search the first second whose offset differs.
        var lo = from;
        var hi = to;
        while (hi - lo > TimeSpan.TicksPerSecond)
        {
            var mid = lo + (hi - lo) / 2;
            mid -= mid % TimeSpan.TicksPerSecond;
            if (mid <= lo) break;
            if (Zone.GetUtcOffset(new DateTime(mid, DateTimeKind.Utc)) == offset) lo = mid;
            else hi = mid;
        }
        return hi;
    }

    private DateTime? NextWallMatch(DateTime t)
    {
        var yearLimit = t.Year + 5;
        var added = false;
    wrap:
        if (t.Year > yearLimit) return null;
        while ((1UL << t.Month & _month) == 0)
        {
            if (!added) { added = true; t = new DateTime(t.Year, t.Month, 1); }
            t = t.AddMonths(1);
            if (t.Month == 1) goto wrap;
        }
        while (!DayMatches(t))
        {
            if (!added) { added = true; t = t.Date; }
            t = t.AddDays(1);
            if (t.Day == 1) goto wrap;
        }
        while ((1UL << t.Hour & _hour) == 0)
        {
            if (!added) { added = true; t = new DateTime(t.Year, t.Month, t.Day, t.Hour, 0, 0); }
            t = t.AddHours(1);
            if (t.Hour == 0) goto wrap;
        }
        while ((1UL << t.Minute & _minute) == 0)
        {
            if (!added) { added = true; t = new DateTime(t.Year, t.Month, t.Day, t.Hour, t.Minute, 0); }
            t = t.AddMinutes(1);
            if (t.Minute == 0) goto wrap;
        }
        while ((1UL << t.Second & _second) == 0)
        {
            if (!added) { added = true; t = new DateTime(t.Ticks - t.Ticks % TimeSpan.TicksPerSecond); }
            t = t.AddSeconds(1);
            if (t.Second == 0) goto wrap;
        }
        return t;
    }

    private bool DayMatches(DateTime t)
    {
        var domMatch = (1UL << t.Day & _dom) != 0;
        var dowMatch = (1UL << (int)t.DayOfWeek & _dow) != 0;
        if ((_dom & StarBit) != 0 || (_dow & StarBit) != 0) return domMatch && dowMatch;
        return domMatch || dowMatch;
    }
}
