using System.Text;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Platform.Scheduler.Schedules;

/// <summary>A validated job timing, with relative strings resolved against the creation instant.</summary>
public sealed record JobTiming(ISchedule? Schedule, uint? Repeats, DateTimeOffset Created, DateTimeOffset? Due, DateTimeOffset? Expiration)
{
    /// <summary>
    /// Validates and resolves a submission, applying Dapr's combination rules in its order.
    /// Throws <see cref="JobValidationException"/> whose message is Dapr's text
    /// (<c>job failed validation: …</c>).
    /// </summary>
    public static JobTiming Resolve(JobTimingSpec spec, DateTimeOffset now)
    {
        if (spec.Schedule is null && spec.DueTime is null) throw Fail("job must have either a due time or a schedule");
        if (spec.Schedule is null && spec.Repeats > 1) throw Fail("job must have a schedule to repeat");
        if (spec.Repeats == 0) throw Fail("defined repeats must be greater than 0");
        if (spec.Schedule is null && spec.Ttl is not null) throw Fail("job must have a schedule to have a ttl");

        // Dapr's engine starts every job's clock on a whole second.
        now = new DateTimeOffset(now.UtcTicks - now.UtcTicks % TimeSpan.TicksPerSecond, TimeSpan.Zero);

        ISchedule? schedule = null;
        if (spec.Schedule is not null)
        {
            try { schedule = ScheduleParser.Parse(spec.Schedule); }
            catch (ScheduleFormatException e) { throw Fail(e.Message); }
        }

        DateTimeOffset? due = null;
        if (spec.DueTime is not null)
        {
            if (!TryResolvePoint(spec.DueTime, now, out var d, out var repeating))
                throw Fail(repeating ? "repeats not supported for due time" : "due time format not recognized");
            due = d;
        }

        DateTimeOffset? expiration = null;
        if (spec.Ttl is not null)
        {
            if (!TryResolvePoint(spec.Ttl, due ?? now, out var e, out _)) throw Fail("ttl format not recognized");
            // ttl counts from the due time when there is one, so only an absolute or negative ttl can land before it.
            if (due is not null && e < due) throw Fail("ttl must be greater than due time");
            expiration = e;
        }

        // A cron that can never match (e.g. 30 February) would otherwise sit in the store forever.
        if (schedule is CronSchedule && schedule.Next(due ?? now) is null)
            throw Fail($"schedule {GoDuration.Quote(spec.Schedule!)} never matches a time");

        return new JobTiming(schedule, spec.Repeats, now, due, expiration);
    }

    private static readonly Regex Rfc3339 = new(
        @"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$", RegexOptions.CultureInvariant);

    /// <summary>RFC3339 instant, else Go duration from <paramref name="baseline"/>, else ISO-8601 duration (no repetitions).</summary>
    public static bool TryResolvePoint(string text, DateTimeOffset baseline, out DateTimeOffset instant, out bool hadRepetitions)
    {
        instant = default;
        hadRepetitions = false;
        if (Rfc3339.IsMatch(text) &&
            DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
        {
            instant = at.ToUniversalTime();
            return true;
        }
        if (GoDuration.TryParse(text, out var ns, out _))
        {
            try { instant = baseline + TimeSpan.FromTicks(ns / 100); return true; }
            catch (ArgumentOutOfRangeException) { return false; }
        }
        if (IsoDuration.TryParse(text, out var iso))
        {
            if (iso.Repetitions > 0) { hadRepetitions = true; return false; }
            try { instant = iso.AddTo(baseline); return true; }
            catch (ArgumentOutOfRangeException) { return false; }
        }
        return false;
    }

    private static JobValidationException Fail(string reason) => new("job failed validation: " + reason);
}
