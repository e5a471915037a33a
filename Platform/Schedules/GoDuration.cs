using System.Globalization;
using System.Text;

namespace Platform.Scheduler.Schedules;

/// <summary>
/// Go's <c>time.ParseDuration</c> grammar (<c>[-+]?([0-9]*(\.[0-9]*)?[a-z]+)+</c>, units ns us µs ms s m h),
/// because Dapr feeds <c>@every</c>, due_time and ttl through it. Error texts match Go's so they can be passed on verbatim.
/// </summary>
public static class GoDuration
{
    /// <summary>Parses to nanoseconds; returns false with Go's error text on failure.</summary>
    public static bool TryParse(string text, out long nanoseconds, out string error)
    {
        nanoseconds = 0;
        error = "";
        var original = text;
        var s = text;
        var negative = false;
        if (s.Length > 0 && (s[0] == '-' || s[0] == '+'))
        {
            negative = s[0] == '-';
            s = s[1..];
        }
        if (s == "0") return true;
        if (s.Length == 0) { error = Invalid(original); return false; }

        ulong total = 0;
        var i = 0;
        while (i < s.Length)
        {
            // The integer part.
            if (!(s[i] == '.' || char.IsAsciiDigit(s[i]))) { error = Invalid(original); return false; }
            var start = i;
            ulong whole = 0;
            var overflow = false;
            while (i < s.Length && char.IsAsciiDigit(s[i]))
            {
                if (whole > (ulong.MaxValue - 9) / 10) overflow = true;
                else whole = whole * 10 + (ulong)(s[i] - '0');
                i++;
            }
            if (overflow || whole > 1UL << 63) { error = Invalid(original); return false; }
            var hadWhole = i > start;
            ulong fraction = 0;
            double scale = 1;
            var hadFraction = false;
            if (i < s.Length && s[i] == '.')
            {
                i++;
                var fracStart = i;
                while (i < s.Length && char.IsAsciiDigit(s[i]))
                {
                    // Go keeps only the digits that fit; further digits are ignored, as here.
                    if (fraction <= (ulong.MaxValue - 9) / 10)
                    {
                        fraction = fraction * 10 + (ulong)(s[i] - '0');
                        scale *= 10;
                    }
                    i++;
                }
                hadFraction = i > fracStart;
            }
            if (!hadWhole && !hadFraction) { error = Invalid(original); return false; }

            var unitStart = i;
            while (i < s.Length && s[i] != '.' && !char.IsAsciiDigit(s[i])) i++;
            if (unitStart == i) { error = $"time: missing unit in duration {Quote(original)}"; return false; }
            var unit = s[unitStart..i];
            ulong unitNs = unit switch
            {
                "ns" => 1,
                "us" or "\u00b5s" or "\u03bcs" => 1_000,
                "ms" => 1_000_000,
                "s" => 1_000_000_000,
                "m" => 60UL * 1_000_000_000,
                "h" => 3600UL * 1_000_000_000,
                _ => 0,
            };
            if (unitNs == 0) { error = $"time: unknown unit {Quote(unit)} in duration {Quote(original)}"; return false; }
            if (whole > (1UL << 63) / unitNs) { error = Invalid(original); return false; }
            var value = whole * unitNs;
            if (fraction > 0)
            {
                value += (ulong)(fraction * ((double)unitNs / scale));
                if (value > 1UL << 63) { error = Invalid(original); return false; }
            }
            total += value;
            if (total > 1UL << 63) { error = Invalid(original); return false; }
        }
        if (negative) nanoseconds = -(long)total;
        else if (total > long.MaxValue) { error = Invalid(original); return false; }
        else nanoseconds = (long)total;
        return true;
    }

    /// <summary>Nanoseconds to .NET ticks (100 ns), never rounding a positive duration down to zero.</summary>
    public static long ToTicks(long nanoseconds)
    {
        var ticks = nanoseconds / 100;
        if (ticks == 0 && nanoseconds > 0) return 1;
        return ticks;
    }

    private static string Invalid(string s) => $"time: invalid duration {Quote(s)}";

    /// <summary>Go's strconv.Quote, enough for error messages.</summary>
    internal static string Quote(string s)
    {
        var sb = new StringBuilder("\"");
        foreach (var c in s)
        {
            switch (c)
            {
                case '"': sb.Append("\\\""); break;
                case '\\': sb.Append("\\\\"); break;
                case '\n': sb.Append("\\n"); break;
                case '\t': sb.Append("\\t"); break;
                case '\r': sb.Append("\\r"); break;
                default:
                    if (c < 0x20 || c == 0x7f) sb.Append("\\x").Append(((int)c).ToString("x2", CultureInfo.InvariantCulture));
                    else sb.Append(c);
                    break;
            }
        }
        return sb.Append('"').ToString();
    }
}
