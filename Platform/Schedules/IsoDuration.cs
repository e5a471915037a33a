using System.Globalization;
using System.Text.RegularExpressions;

namespace Platform.Scheduler.Schedules;

/// <summary>
/// An ISO-8601 duration as dapr/kit reads it: <c>[Rn/]P[nY][nM][nW][nD][T[nH][nM][nS]]</c>, integers only.
/// Calendar parts are applied with calendar arithmetic, then the time part.
/// </summary>
public readonly record struct IsoDuration(int Years, int Months, int Days, TimeSpan Time, int Repetitions)
{
    private static readonly Regex Pattern = new(
        @"^(R(?<r>\d+)/)?P((?<y>\d+)Y)?((?<mo>\d+)M)?((?<w>\d+)W)?((?<d>\d+)D)?(T((?<h>\d+)H)?((?<mi>\d+)M)?((?<s>\d+)S)?)?$",
        RegexOptions.CultureInvariant | RegexOptions.ExplicitCapture);

    /// <summary>Repetitions is -1 when no <c>Rn/</c> prefix was given.</summary>
    public static bool TryParse(string text, out IsoDuration duration)
    {
        duration = default;
        var m = Pattern.Match(text);
        if (!m.Success) return false;
        try
        {
            int Int(string g) => m.Groups[g].Success ? int.Parse(m.Groups[g].Value, CultureInfo.InvariantCulture) : 0;
            var time = TimeSpan.FromHours(Int("h")) + TimeSpan.FromMinutes(Int("mi")) + TimeSpan.FromSeconds(Int("s"));
            duration = new IsoDuration(Int("y"), Int("mo"), Int("w") * 7 + Int("d"), time, m.Groups["r"].Success ? Int("r") : -1);
            return true;
        }
        catch (OverflowException)
        {
            return false;
        }
    }

    public DateTimeOffset AddTo(DateTimeOffset instant) => instant.AddYears(Years).AddMonths(Months).AddDays(Days).Add(Time);
}
