using System.Globalization;

namespace Platform.Scheduler.Schedules;

/// <summary>
/// Parses a Jobs API schedule the way dapr/kit's cron parser does (fields Second|Minute|Hour|Dom|Month|Dow plus
/// descriptors), with the same error texts so they can be returned verbatim.
/// </summary>
public static class ScheduleParser
{
    private readonly record struct Bounds(int Min, int Max, Dictionary<string, int>? Names);

    private static readonly Bounds Seconds = new(0, 59, null);
    private static readonly Bounds Minutes = new(0, 59, null);
    private static readonly Bounds Hours = new(0, 23, null);
    private static readonly Bounds Dom = new(1, 31, null);
    private static readonly Bounds Months = new(1, 12, new(StringComparer.Ordinal)
    {
        ["jan"] = 1, ["feb"] = 2, ["mar"] = 3, ["apr"] = 4, ["may"] = 5, ["jun"] = 6,
        ["jul"] = 7, ["aug"] = 8, ["sep"] = 9, ["oct"] = 10, ["nov"] = 11, ["dec"] = 12,
    });
    private static readonly Bounds Dow = new(0, 6, new(StringComparer.Ordinal)
    {
        ["sun"] = 0, ["mon"] = 1, ["tue"] = 2, ["wed"] = 3, ["thu"] = 4, ["fri"] = 5, ["sat"] = 6,
    });

    /// <summary>Parses a schedule; throws <see cref="ScheduleFormatException"/> with the parser's text.</summary>
    public static ISchedule Parse(string spec)
    {
        if (spec.Length == 0) throw new ScheduleFormatException("empty spec string");

        var zone = TimeZoneInfo.Utc;
        if (spec.StartsWith("TZ=", StringComparison.Ordinal) || spec.StartsWith("CRON_TZ=", StringComparison.Ordinal))
        {
            var eq = spec.IndexOf('=');
            var space = spec.IndexOf(' ');
            if (space < 0 || spec[space..].Trim().Length == 0)
                throw new ScheduleFormatException($"missing schedule after time zone prefix: {spec}");
            var name = spec[(eq + 1)..space];
            zone = FindZone(name);
            spec = spec[space..].Trim();
            // Dapr 1.18.3+ rejects a zone on @every: an interval has no wall clock to apply it to.
            if (spec.StartsWith("@every", StringComparison.Ordinal))
                throw new ScheduleFormatException($"time zone prefix is not supported with @every: {spec}");
        }

        if (spec.StartsWith('@')) return ParseDescriptor(spec, zone);

        var fields = spec.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries);
        if (fields.Length != 6)
            throw new ScheduleFormatException($"expected exactly 6 fields, found {fields.Length}: [{string.Join(' ', fields)}]");

        return new CronSchedule(
            GetField(fields[0], Seconds), GetField(fields[1], Minutes), GetField(fields[2], Hours),
            GetField(fields[3], Dom), GetField(fields[4], Months), GetField(fields[5], Dow), zone);
    }

    private static TimeZoneInfo FindZone(string name)
    {
        if (name is "UTC" or "") return TimeZoneInfo.Utc;
        if (name == "Local") return TimeZoneInfo.Local;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(name);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException or ArgumentException)
        {
            throw new ScheduleFormatException($"provided bad location {name}: unknown time zone {name}");
        }
    }

    private static ISchedule ParseDescriptor(string descriptor, TimeZoneInfo zone)
    {
        switch (descriptor)
        {
            case "@yearly" or "@annually":
                return new CronSchedule(1, 1, 1, 1UL << 1, 1UL << 1, Bits(0, 6, 1) | CronSchedule.StarBit, zone);
            case "@monthly":
                return new CronSchedule(1, 1, 1, 1UL << 1, Bits(1, 12, 1) | CronSchedule.StarBit, Bits(0, 6, 1) | CronSchedule.StarBit, zone);
            case "@weekly":
                return new CronSchedule(1, 1, 1, Bits(1, 31, 1) | CronSchedule.StarBit, Bits(1, 12, 1) | CronSchedule.StarBit, 1, zone);
            case "@daily" or "@midnight":
                return new CronSchedule(1, 1, 1, Bits(1, 31, 1) | CronSchedule.StarBit, Bits(1, 12, 1) | CronSchedule.StarBit, Bits(0, 6, 1) | CronSchedule.StarBit, zone);
            case "@hourly":
                return new CronSchedule(1, 1, Bits(0, 23, 1) | CronSchedule.StarBit, Bits(1, 31, 1) | CronSchedule.StarBit, Bits(1, 12, 1) | CronSchedule.StarBit, Bits(0, 6, 1) | CronSchedule.StarBit, zone);
        }
        const string every = "@every ";
        if (descriptor.StartsWith(every, StringComparison.Ordinal))
        {
            if (!GoDuration.TryParse(descriptor[every.Length..], out var ns, out var error))
                throw new ScheduleFormatException($"failed to parse duration {descriptor}: {error}");
            // Dapr's parser accepts these and then re-triggers in a tight loop; we refuse them up front.
            if (ns <= 0) throw new ScheduleFormatException($"@every duration must be positive: {descriptor}");
            return new EverySchedule(TimeSpan.FromTicks(GoDuration.ToTicks(ns)));
        }
        throw new ScheduleFormatException($"unrecognized descriptor: {descriptor}");
    }

    private static ulong GetField(string field, Bounds bounds)
    {
        ulong bits = 0;
        foreach (var expr in field.Split(',')) bits |= GetRange(expr, bounds);
        return bits;
    }

    private static ulong GetRange(string expr, Bounds r)
    {
        var rangeAndStep = expr.Split('/');
        var lowAndHigh = rangeAndStep[0].Split('-');
        var singleDigit = lowAndHigh.Length == 1;
        int start, end;
        ulong extra = 0;
        if (lowAndHigh[0] is "*" or "?")
        {
            start = r.Min;
            end = r.Max;
            extra = CronSchedule.StarBit;
        }
        else
        {
            start = ParseIntOrName(lowAndHigh[0], r.Names);
            end = lowAndHigh.Length switch
            {
                1 => start,
                2 => ParseIntOrName(lowAndHigh[1], r.Names),
                _ => throw new ScheduleFormatException($"too many hyphens: {expr}"),
            };
        }

        int step;
        switch (rangeAndStep.Length)
        {
            case 1:
                step = 1;
                break;
            case 2:
                step = MustParseInt(rangeAndStep[1]);
                // "N/step" means N through the maximum.
                if (singleDigit) end = r.Max;
                if (step > 1) extra = 0;
                break;
            default:
                throw new ScheduleFormatException($"too many slashes: {expr}");
        }

        if (start < r.Min) throw new ScheduleFormatException($"beginning of range ({start}) below minimum ({r.Min}): {expr}");
        if (end > r.Max) throw new ScheduleFormatException($"end of range ({end}) above maximum ({r.Max}): {expr}");
        if (start > end) throw new ScheduleFormatException($"beginning of range ({start}) beyond end of range ({end}): {expr}");
        if (step == 0) throw new ScheduleFormatException($"step of range should be a positive number: {expr}");
        return Bits(start, end, step) | extra;
    }

    private static int ParseIntOrName(string expr, Dictionary<string, int>? names)
    {
        if (names is not null && names.TryGetValue(expr.ToLowerInvariant(), out var value)) return value;
        return MustParseInt(expr);
    }

    private static int MustParseInt(string expr)
    {
        // Go's strconv.Atoi: optional sign and ASCII digits only.
        var digits = expr.Length > 0 && (expr[0] == '+' || expr[0] == '-') ? expr[1..] : expr;
        if (digits.Length == 0 || !digits.All(char.IsAsciiDigit))
            throw new ScheduleFormatException($"failed to parse int from {expr}: strconv.Atoi: parsing {GoDuration.Quote(expr)}: invalid syntax");
        if (!int.TryParse(expr, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n))
            throw new ScheduleFormatException($"failed to parse int from {expr}: strconv.Atoi: parsing {GoDuration.Quote(expr)}: value out of range");
        if (n < 0) throw new ScheduleFormatException($"negative number ({n}) not allowed: {expr}");
        return n;
    }

    private static ulong Bits(int min, int max, int step)
    {
        ulong bits = 0;
        for (var i = min; i <= max; i += step) bits |= 1UL << i;
        return bits;
    }
}
