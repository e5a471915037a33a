using System.Globalization;
using System.Text.RegularExpressions;
using System.Xml;

namespace Shared;

/// <summary>Durations and instants as operators write them: RFC 3339 times, Go durations (<c>1h30m</c>), ISO 8601 (<c>PT10M</c>), TimeSpan text.</summary>
public static partial class Durations
{
    public static bool TryParseDuration(string? text, out TimeSpan value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        text = text.Trim();
        var go = GoDuration().Match(text);
        if (go.Success)
        {
            var total = 0.0;
            foreach (Capture part in go.Groups["part"].Captures)
            {
                var m = GoPart().Match(part.Value);
                var n = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
                total += m.Groups[2].Value switch
                {
                    "h" => n * 3600, "m" => n * 60, "s" => n, "ms" => n / 1e3, "us" or "µs" => n / 1e6, _ => n / 1e9,
                };
            }
            // Out of TimeSpan's range (about 29,000 years) is not a duration anyone means: refused, never thrown.
            if (!(Math.Abs(total) < TimeSpan.MaxValue.TotalSeconds - 1)) return false;
            value = TimeSpan.FromSeconds(total);
            return true;
        }
        if (text.StartsWith('P'))
        {
            try { value = XmlConvert.ToTimeSpan(text); return true; }
            catch (Exception e) when (e is FormatException or OverflowException or ArgumentException) { return false; }
        }
        return TimeSpan.TryParse(text, CultureInfo.InvariantCulture, out value);
    }

    /// <summary>An RFC 3339 instant, or a duration from <paramref name="now"/>.</summary>
    public static bool TryParseInstant(string? text, DateTimeOffset now, out DateTimeOffset value)
    {
        value = default;
        if (string.IsNullOrWhiteSpace(text)) return false;
        if (text.Contains('T') && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out value)) return true;
        if (TryParseDuration(text, out var offset) && offset < DateTimeOffset.MaxValue - now && offset > DateTimeOffset.MinValue - now)
        {
            value = now + offset;
            return true;
        }
        return false;
    }

    // [0-9], not \d: \d also matches other scripts' digits, which double.Parse then refuses.
    [GeneratedRegex(@"^(?<part>[0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$")]
    private static partial Regex GoDuration();

    [GeneratedRegex(@"^([0-9]+(?:\.[0-9]+)?)(ns|us|µs|ms|s|m|h)$")]
    private static partial Regex GoPart();
}
