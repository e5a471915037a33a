using System.Globalization;
using Cronos;

namespace BackupWorker.Hosting;

/// <summary>
/// When a Dapr job fires, as far as an app can tell from the strings it scheduled it with: the first trigger at the
/// due time, then each time the schedule (6-field cron with seconds, UTC unless <c>TZ=</c>/<c>CRON_TZ=</c>;
/// <c>@every</c>; <c>@daily</c> and the other descriptors) names after the previous one, or, without a due time, after
/// the creation instant, which the engine takes on a whole second. Missed ticks are replayed back-to-back
/// (Dapr's catch-up). Compiled into BackupApi as source too, so both apps read a schedule the same way.
/// </summary>
public sealed class ScheduleTicks
{
    /// <summary>
    /// How far after the recorded creation time the scheduler's own creation instant may lie: the app records the
    /// time just before it asks its sidecar to schedule the job, and the engine truncates its clock to a second.
    /// </summary>
    public static readonly TimeSpan CreationUncertainty = TimeSpan.FromSeconds(2);

    private readonly CronExpression? _cron;
    private readonly TimeZoneInfo _zone = TimeZoneInfo.Utc;
    private readonly TimeSpan? _every;
    private readonly DateTimeOffset? _at; // a schedule that is one instant

    private ScheduleTicks(CronExpression? cron, TimeZoneInfo zone, TimeSpan? every, DateTimeOffset? at) => (_cron, _zone, _every, _at) = (cron, zone, every, at);

    /// <summary>Null when the expression is not one this class can evaluate (then nothing is assumed about its ticks).</summary>
    public static ScheduleTicks? TryParse(string? schedule)
    {
        if (string.IsNullOrWhiteSpace(schedule)) return null;
        var spec = schedule.Trim();
        if (spec.StartsWith("@every ", StringComparison.Ordinal))
            return Durations.TryParseDuration(spec["@every ".Length..], out var d) && d > TimeSpan.Zero ? new(null, TimeZoneInfo.Utc, d, null) : null;
        if (spec.Contains('T') && DateTimeOffset.TryParse(spec, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            return new(null, TimeZoneInfo.Utc, null, at);
        var zone = TimeZoneInfo.Utc;
        if (spec.StartsWith("TZ=", StringComparison.Ordinal) || spec.StartsWith("CRON_TZ=", StringComparison.Ordinal))
        {
            var space = spec.IndexOf(' ');
            if (space < 0) return null;
            var name = spec[(spec.IndexOf('=') + 1)..space];
            try { zone = name is "UTC" or "" ? TimeZoneInfo.Utc : name == "Local" ? TimeZoneInfo.Local : TimeZoneInfo.FindSystemTimeZoneById(name); }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException) { return null; }
            spec = spec[space..].Trim();
        }
        if (!spec.StartsWith('@'))
        {
            var fields = spec.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
            // Dapr's cron has six fields; when day-of-month and day-of-week are both restricted the two parsers may
            // combine them differently, so such a schedule is left unevaluated.
            if (fields.Length != 6 || (fields[3] is not ("*" or "?") && fields[5] is not ("*" or "?"))) return null;
        }
        try
        {
            return new(CronExpression.Parse(spec, CronFormat.IncludeSeconds), zone, null, null);
        }
        catch (CronFormatException)
        {
            return null;
        }
    }

    /// <summary>The first tick after <paramref name="after"/>, for the schedule alone (no due time): null when none.</summary>
    private DateTimeOffset? NextAfter(DateTimeOffset after, DateTimeOffset anchor)
    {
        if (_at is { } at) return at > after ? at : null;
        if (_every is { } every)
        {
            if (after < anchor) return anchor;
            var steps = (after - anchor).Ticks / every.Ticks + 1;
            return steps > (DateTimeOffset.MaxValue - anchor).Ticks / every.Ticks ? null : anchor + TimeSpan.FromTicks(steps * every.Ticks);
        }
        try
        {
            return _cron!.GetNextOccurrence(after, _zone, inclusive: false);
        }
        catch (ArgumentException)
        {
            return null; // past the end of representable time
        }
    }

    /// <summary>
    /// How many triggers fire at once when a job with this schedule and a due time of <paramref name="due"/> is
    /// created at <paramref name="now"/>: the ticks from the due time up to now (Dapr replays them back-to-back),
    /// within <paramref name="repeats"/> and the expiration. Counting stops past <paramref name="limit"/>.
    /// </summary>
    public int CountDueBy(DateTimeOffset due, DateTimeOffset now, int? repeats, DateTimeOffset? expiration, int limit)
    {
        var end = expiration is { } e && e < now ? e : now;
        var count = 0;
        for (DateTimeOffset? tick = due; tick is { } t && t <= end; tick = NextAfter(t, due))
        {
            count++;
            if (count > limit || (repeats is { } r && count >= r)) break;
            if (_at is not null) break;
        }
        return count;
    }

    /// <summary>
    /// Whether a job created at <paramref name="created"/> (as the app recorded it) with this schedule (null: a
    /// one-shot) and <paramref name="dueTime"/> (an RFC 3339 time or a duration from creation) may have a tick in
    /// (<paramref name="after"/>, <paramref name="until"/>]. Errs towards yes: a "no" is certain.
    /// </summary>
    public static bool MayTickBetween(ScheduleTicks? schedule, string? scheduleText, string? dueTime, DateTimeOffset created, DateTimeOffset after, DateTimeOffset until)
    {
        if (until <= after) return false;
        if (schedule is null && !string.IsNullOrWhiteSpace(scheduleText)) return true; // not understood: assume it may
        var createdSecond = new DateTimeOffset(created.UtcTicks - created.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
        // The due time, as an interval: exact when absolute, from the (uncertain) creation instant when relative.
        DateTimeOffset? dueLow = null;
        var uncertainty = CreationUncertainty;
        if (!string.IsNullOrWhiteSpace(dueTime))
        {
            if (dueTime.Contains('T') && DateTimeOffset.TryParse(dueTime, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var absolute))
                (dueLow, uncertainty) = (absolute, TimeSpan.Zero);
            else if (Durations.TryParseDuration(dueTime, out var offset) && offset < DateTimeOffset.MaxValue - createdSecond - CreationUncertainty)
                dueLow = createdSecond + offset;
            else return true;
        }
        bool Overlaps(DateTimeOffset low, TimeSpan width) => low + width > after && low <= until;
        if (dueLow is { } due && Overlaps(due, uncertainty)) return true;
        if (schedule is null) return false; // a one-shot: its only tick is the due time
        if (schedule._every is { } every)
        {
            // Ticks at anchor + k·every for an anchor somewhere in [low, low + width].
            var (low, width) = dueLow is { } d ? (d, uncertainty) : (createdSecond, CreationUncertainty);
            if (width >= every) return true;
            var k = after < low ? 0 : (after - low - width).Ticks / every.Ticks;
            for (var i = Math.Max(0, k); i <= k + 2; i++)
                if (Overlaps(low + TimeSpan.FromTicks(i * every.Ticks), width)) return true;
            return false;
        }
        // A cron or descriptor (or one instant): its ticks do not depend on the anchor.
        return schedule.NextAfter(after, after) is { } next && next <= until;
    }
}
