using System.Globalization;
using System.Text;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Platform.Jobs.JsonConverters;

namespace Platform.Jobs.Models;

/// <summary>
/// When a job runs: a 6-field cron expression (seconds first), an <c>@</c> period (<c>@every 1h30m</c>, <c>@daily</c>, ...)
/// or a point in time. The string is sent to the runtime verbatim, which is the one judge of validity: an expression
/// none of the predicates recognise is still sent (as <c>schedule</c>) so the runtime answers with its own message.
/// </summary>
[JsonConverter(typeof(DaprJobScheduleConverter))]
public sealed partial class DaprJobSchedule
{
    private static readonly string[] PeriodNames = ["yearly", "annually", "monthly", "weekly", "daily", "midnight", "hourly"];

    internal DaprJobSchedule(string expressionValue) => ExpressionValue = expressionValue;

    /// <summary>The expression sent to the runtime.</summary>
    public string ExpressionValue { get; }

    /// <summary>
    /// <c>@every</c> followed by the duration in Go syntax, e.g. 12:08:16 → <c>@every 12h8m16s</c>.
    /// Unlike Dapr's SDK (which uses the TimeSpan components and so drops whole days), days are folded into the hours:
    /// 1.02:00:00 → <c>@every 26h</c> (Go durations have no day unit). Sub-millisecond parts are kept as <c>us</c>/<c>ns</c>.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException">The duration is zero or negative: the runtime would re-trigger without pause.</exception>
    public static DaprJobSchedule FromDuration(TimeSpan duration)
    {
        if (duration <= TimeSpan.Zero)
            throw new ArgumentOutOfRangeException(nameof(duration), duration, "A job interval must be greater than zero.");
        return new DaprJobSchedule("@every " + ToGoDuration(duration));
    }

    /// <summary>The builder's 6-field cron expression.</summary>
    public static DaprJobSchedule FromCronExpression(CronExpressionBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return new DaprJobSchedule(builder.ToString());
    }

    /// <summary>A one-shot job at that instant (round-trip "O" format, sent as <c>due_time</c>).</summary>
    public static DaprJobSchedule FromDateTime(DateTimeOffset scheduledTime) =>
        new(scheduledTime.ToString("O", CultureInfo.InvariantCulture));

    /// <summary>Any expression the runtime accepts, verbatim: cron, <c>@every 5s</c>, <c>@daily</c>, an RFC 3339 time...</summary>
    public static DaprJobSchedule FromExpression(string expression)
    {
        ArgumentNullException.ThrowIfNull(expression);
        return new DaprJobSchedule(expression);
    }

    public static DaprJobSchedule Yearly { get; } = new("@yearly");
    public static DaprJobSchedule Monthly { get; } = new("@monthly");
    public static DaprJobSchedule Weekly { get; } = new("@weekly");
    public static DaprJobSchedule Daily { get; } = new("@daily");
    public static DaprJobSchedule Midnight { get; } = new("@midnight");
    public static DaprJobSchedule Hourly { get; } = new("@hourly");

    /// <summary>An <c>@every &lt;duration&gt;</c> or a named period (<c>@yearly</c>, <c>@annually</c>, ..., <c>@hourly</c>).</summary>
    public bool IsPrefixedPeriodExpression =>
        ExpressionValue.StartsWith('@')
        && (EveryRegex().IsMatch(ExpressionValue) || PeriodNames.Any(p => ExpressionValue.Equals("@" + p, StringComparison.Ordinal)));

    /// <summary>The expression parses as a date and time (it is sent as the job's due time).</summary>
    public bool IsPointInTimeExpression =>
        !ExpressionValue.StartsWith('@')
        && DateTimeOffset.TryParse(ExpressionValue, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out _);

    /// <summary>The expression (after an optional <c>@every </c>) is a Go duration such as <c>1h30m</c> or <c>500ms</c>.</summary>
    public bool IsDurationExpression => DurationRegex().IsMatch(ExpressionValue.StartsWith("@every ", StringComparison.Ordinal) ? ExpressionValue[7..] : ExpressionValue);

    /// <summary>Six space-separated cron fields (seconds first), optionally after a <c>TZ=</c>/<c>CRON_TZ=</c> prefix.</summary>
    public bool IsCronExpression
    {
        get
        {
            var fields = ExpressionValue.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            if (fields.Length == 7 && (fields[0].StartsWith("TZ=", StringComparison.Ordinal) || fields[0].StartsWith("CRON_TZ=", StringComparison.Ordinal)))
                fields = fields[1..];
            return fields.Length == 6 && fields.All(f => CronFieldRegex().IsMatch(f));
        }
    }

    public override string ToString() => ExpressionValue;

    internal static string ToGoDuration(TimeSpan duration)
    {
        var sb = new StringBuilder();
        var hours = (long)Math.Floor(duration.TotalHours);
        if (hours > 0) sb.Append(hours).Append('h');
        if (duration.Minutes > 0) sb.Append(duration.Minutes).Append('m');
        if (duration.Seconds > 0) sb.Append(duration.Seconds).Append('s');
        if (duration.Milliseconds > 0) sb.Append(duration.Milliseconds).Append("ms");
        var subMillisecondTicks = duration.Ticks % TimeSpan.TicksPerMillisecond;
        if (subMillisecondTicks / 10 > 0) sb.Append(subMillisecondTicks / 10).Append("us");
        if (subMillisecondTicks % 10 > 0) sb.Append(subMillisecondTicks % 10 * 100).Append("ns");
        return sb.ToString();
    }

    [GeneratedRegex(@"^@every (\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")]
    private static partial Regex EveryRegex();

    [GeneratedRegex(@"^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$")]
    private static partial Regex DurationRegex();

    [GeneratedRegex(@"^(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?|\*/\d+|[0-9A-Za-z]+(-[0-9A-Za-z]+)?/\d+)(,(\*|\?|[0-9A-Za-z]+(-[0-9A-Za-z]+)?|\*/\d+|[0-9A-Za-z]+(-[0-9A-Za-z]+)?/\d+))*$")]
    private static partial Regex CronFieldRegex();
}
