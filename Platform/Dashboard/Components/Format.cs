using System.Globalization;

namespace Platform.Dashboard.Components;

/// <summary>How times and durations read in the UI (UTC, invariant culture, so tests and screenshots are stable).</summary>
public static class Format
{
    public static string Time(DateTime utc) => utc.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);
    public static string Time(DateTimeOffset? t) => t is { } v ? v.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) + "Z" : "";
    public static string Iso(DateTime utc) => utc.ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture);

    public static string Duration(TimeSpan d) => d.TotalMilliseconds switch
    {
        < 1 => $"{d.TotalMicroseconds.ToString("0", CultureInfo.InvariantCulture)}μs",
        < 1000 => $"{d.TotalMilliseconds.ToString("0.##", CultureInfo.InvariantCulture)}ms",
        < 60_000 => $"{d.TotalSeconds.ToString("0.##", CultureInfo.InvariantCulture)}s",
        _ => $"{d.TotalMinutes.ToString("0.#", CultureInfo.InvariantCulture)}min",
    };

    public static string Number(double v) => Math.Abs(v) >= 1e6 || (v != 0 && Math.Abs(v) < 1e-3)
        ? v.ToString("0.###e0", CultureInfo.InvariantCulture)
        : v.ToString("0.###", CultureInfo.InvariantCulture);

    public static string Percent(double v) => v.ToString("0.###", CultureInfo.InvariantCulture) + "%";

    /// <summary>A stable colour per resource name, so one service has one colour on every page.</summary>
    public static string ColorOf(string name)
    {
        string[] palette = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#db2777", "#65a30d"];
        var hash = 0;
        foreach (var c in name) hash = unchecked(hash * 31 + c);
        return palette[(hash & 0x7fffffff) % palette.Length];
    }
}
