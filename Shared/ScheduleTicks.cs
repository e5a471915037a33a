using System.Globalization;
using Platform.Scheduler.Schedules;

namespace Shared;

/// <summary>
/// When a Dapr job fires, as far as an app can tell from the strings it scheduled it with: the first trigger at the
/// due time, then each time the schedule (6-field cron with seconds, UTC unless <c>TZ=</c>/<c>CRON_TZ=</c>;
/// <c>@every</c>; <c>@daily</c> and the other descriptors) names after the previous one, or, without a due time, after
/// the creation instant, which the engine takes on a whole second. Missed ticks are replayed back-to-back
/// (Dapr's catch-up). The schedule is read and its ticks found by the scheduler's own code (Platform.Schedules), so
/// what an app counts or predicts is what the scheduler fires. Both apps compile it from Shared/.
/// </summary>
public sealed class ScheduleTicks
{
    /// <summary>
    /// How far after the recorded creation time the scheduler's own creation instant may lie: the app records the
    /// time just before it asks its sidecar to schedule the job, and the engine truncates its clock to a second.
    /// </summary>
    public static readonly TimeSpan CreationUncertainty = TimeSpan.FromSeconds(2);

    private readonly ISchedule? _schedule;
    private readonly DateTimeOffset? _at; // a schedule that is one instant: the Jobs client sends it as the due time

    private ScheduleTicks(ISchedule? schedule, DateTimeOffset? at) => (_schedule, _at) = (schedule, at);

    /// <summary>
    /// Null when the scheduler would refuse the expression (it parses it with the same <see cref="ScheduleParser"/>),
    /// so no job with it can exist; then nothing is assumed about its ticks.
    /// </summary>
    public static ScheduleTicks? TryParse(string? schedule)
    {
        if (string.IsNullOrWhiteSpace(schedule)) return null;
        // The worker schedules the trimmed text; the Jobs client sends one that reads as an instant as a one-shot.
        var spec = schedule.Trim();
        if (!spec.StartsWith('@') && DateTimeOffset.TryParse(spec, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
            return new(null, at);
        try
        {
            return new(ScheduleParser.Parse(spec), null);
        }
        catch (ScheduleFormatException)
        {
            return null;
        }
    }

    /// <summary>
    /// How many triggers fire at once when a job with this schedule and a due time of <paramref name="due"/> is
    /// created at <paramref name="now"/>: the ticks from the due time up to now (Dapr replays them back-to-back),
    /// within <paramref name="repeats"/> and the expiration. Counting stops past <paramref name="limit"/>.
    /// </summary>
    public int CountDueBy(DateTimeOffset due, DateTimeOffset now, int? repeats, DateTimeOffset? expiration, int limit)
    {
        if (_at is not null) return due <= now && (expiration is not { } x || due <= x) ? 1 : 0;
        // The scheduler's own trigger rule, tick after tick, as its engine replays them.
        var (count, last) = (0, TickCalculator.None);
        while (count <= limit)
        {
            var next = TickCalculator.Next(_schedule, (uint)Math.Max(repeats ?? 0, 0), due.UtcTicks, due.UtcTicks, expiration?.UtcTicks ?? long.MaxValue, (uint)count, last);
            if (next == TickCalculator.None || next > now.UtcTicks) break;
            (count, last) = (count + 1, next);
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
        if (schedule._schedule is EverySchedule { Interval: var every })
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
        var next = schedule._at is { } at ? (at > after ? at : null) : schedule._schedule!.Next(after);
        return next is { } n && n <= until;
    }
}
