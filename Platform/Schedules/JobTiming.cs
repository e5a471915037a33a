using System.Text;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Platform.Scheduler.Schedules;

/// <summary>What a caller submitted for a job's timing (strings kept verbatim, presence matters).</summary>
public sealed record JobTimingSpec(string? Schedule, uint? Repeats, string? DueTime, string? Ttl);

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

/// <summary>A job the engine refuses; the message is what Dapr's scheduler answers (gRPC Unknown).</summary>
public sealed class JobValidationException(string message) : Exception(message);

/// <summary>Job name rules of current Dapr (1.16.17+/1.17.11+/1.18.2+).</summary>
public static class JobNameValidator
{
    /// <summary>Dapr's exact bound is unknown; 600 is rejected there, so we draw the line below it.</summary>
    public const int MaxLength = 512;

    /// <summary>Null when valid, else the reason.</summary>
    public static string? Check(string name)
    {
        if (name.Length == 0) return "name must not be empty";
        if (name is "." or "..") return "name must not be '.' or '..'";
        if (name.Length > MaxLength) return $"name must be no more than {MaxLength} characters";
        foreach (var c in name)
            if (c is '/' or '\\' or '#' or '?') return $"name must not contain '{c}'";
        foreach (var rune in name.EnumerateRunes())
        {
            // C0, DEL and C1 controls, and characters that are invisible or break lines (bidi overrides, zero-width, BOM,
            // tags, line separators) and so make a name display as another.
            if (Rune.IsControl(rune)) return "name must not contain control characters";
            if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
                return "name must not contain invisible formatting or line separator characters";
        }
        return null;
    }

    public static void Validate(string name)
    {
        if (Check(name) is { } reason) throw new JobValidationException($"job name is invalid {GoDuration.Quote(name)}: {reason}");
    }
}

/// <summary>
/// A request field the API refuses outright (gRPC InvalidArgument), before anything is stored: malformed protobuf
/// well-known types. The message follows Dapr's form (<c>job failed validation: …</c>, protobuf's own texts).
/// </summary>
public sealed class JobArgumentException(string message) : Exception(message);

/// <summary>Checks of protobuf Duration and Timestamp values, with the texts of Go's durationpb/timestamppb CheckValid.</summary>
public static class ProtobufTimeValidator
{
    /// <summary>Duration's range: ±10,000 years in seconds.</summary>
    public const long MaxDurationSeconds = 315_576_000_000;
    private const long MinTimestampSeconds = -62_135_596_800;   // 0001-01-01T00:00:00Z
    private const long MaxTimestampSeconds = 253_402_300_799;   // 9999-12-31T23:59:59Z

    /// <summary>Null when valid (normalised and in range), else the reason.</summary>
    public static string? CheckDuration(long seconds, int nanos)
    {
        var text = Text(seconds, nanos);
        if (seconds < -MaxDurationSeconds) return $"duration ({text}) exceeds -10000 years";
        if (seconds > MaxDurationSeconds) return $"duration ({text}) exceeds +10000 years";
        if (nanos <= -1_000_000_000 || nanos >= 1_000_000_000) return $"duration ({text}) has out-of-range nanos";
        if ((seconds > 0 && nanos < 0) || (seconds < 0 && nanos > 0)) return $"duration ({text}) has seconds and nanos with different signs";
        return null;
    }

    /// <summary>Null when valid (normalised and within 0001-01-01..9999-12-31), else the reason.</summary>
    public static string? CheckTimestamp(long seconds, int nanos)
    {
        var text = Text(seconds, nanos);
        if (seconds < MinTimestampSeconds) return $"timestamp ({text}) before 0001-01-01";
        if (seconds > MaxTimestampSeconds) return $"timestamp ({text}) after 9999-12-31";
        if (nanos < 0 || nanos >= 1_000_000_000) return $"timestamp ({text}) has out-of-range nanos";
        return null;
    }

    /// <summary>Go's %v of the message: proto text format, zero fields left out.</summary>
    public static string Text(long seconds, int nanos) => (seconds, nanos) switch
    {
        (0, 0) => "",
        (_, 0) => $"seconds:{seconds}",
        (0, _) => $"nanos:{nanos}",
        _ => $"seconds:{seconds} nanos:{nanos}",
    };
}
