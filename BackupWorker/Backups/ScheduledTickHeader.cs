using System.Globalization;
using System.Text.RegularExpressions;

namespace BackupWorker.Backups;

/// <summary>
/// Reads our sidecar's extension header <c>dapr-job-scheduled-time</c> (the tick a trigger is for): RFC 3339 in UTC
/// (<c>Z</c>), optional fraction of up to nine digits. Anything else is refused, so a garbled value can never make two
/// ticks look alike.
/// </summary>
public static partial class ScheduledTickHeader
{
    public const string Name = "dapr-job-scheduled-time";

    [GeneratedRegex(@"^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$", RegexOptions.CultureInvariant)]
    private static partial Regex Rfc3339Utc();

    /// <summary>The header's value on the request, null when absent (repeated values come joined, which then fail to parse).</summary>
    public static string? From(HttpContext? context) =>
        context is not null && context.Request.Headers.TryGetValue(Name, out var values) ? values.ToString() : null;

    public static bool TryParse(string? text, out DateTimeOffset tick)
    {
        tick = default;
        if (text is null || Rfc3339Utc().Match(text) is not { Success: true } match) return false;
        if (!DateTime.TryParseExact(match.Groups[1].Value, "yyyy-MM-dd'T'HH:mm:ss", CultureInfo.InvariantCulture,
                DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var seconds)) return false;
        // A DateTimeOffset holds 100 ns: digits beyond the seventh are dropped (the sidecar sends seven).
        var fraction = match.Groups[2].Value.PadRight(7, '0')[..7];
        tick = new DateTimeOffset(DateTime.SpecifyKind(seconds, DateTimeKind.Utc).AddTicks(long.Parse(fraction, CultureInfo.InvariantCulture)));
        return true;
    }
}
