using System.Text.RegularExpressions;
using BackupWorker.Hosting;

namespace BackupApi;

/// <summary>
/// Checks the shape of a request before it travels. Whether the schedule expression itself is valid is for Dapr to
/// say: its message comes back as the ProblemDetails detail, so operators see the runtime's own words.
/// </summary>
public static partial class ScheduleValidator
{
    public static Dictionary<string, string[]> Validate(CreateScheduleRequest request, DateTimeOffset now)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Database)) errors["database"] = ["A database name is required."];
        if (request.Name is not null && !JobName().IsMatch(request.Name))
            errors["name"] = ["A name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit."];
        if (string.IsNullOrWhiteSpace(request.Schedule) && string.IsNullOrWhiteSpace(request.DueTime))
            errors["schedule"] = ["A schedule (cron with seconds, @every 1m, @daily, ...) or a dueTime is required."];
        if (request.Repeats < 0) errors["repeats"] = ["repeats cannot be negative."];
        if (BackupLocationRules.Check(request.Location) is { } location) errors["location"] = [location];
        if (!string.IsNullOrWhiteSpace(request.DueTime) && !Durations.TryParseInstant(request.DueTime, now, out _))
            errors["dueTime"] = ["Not an RFC 3339 time or a duration (10s, 1h30m, PT10M)."];
        if (!string.IsNullOrWhiteSpace(request.Ttl) && !Durations.TryParseInstant(request.Ttl, now, out _))
            errors["ttl"] = ["Not an RFC 3339 time or a duration (10s, 1h30m, PT10M)."];
        if (request.Retention is { } retention)
        {
            if (retention.KeepLast is < 1) errors["retention.keepLast"] = ["keepLast must be at least 1."];
            if (!string.IsNullOrWhiteSpace(retention.MaxAge) && !(Durations.TryParseDuration(retention.MaxAge, out var age) && age > TimeSpan.Zero))
                errors["retention.maxAge"] = ["maxAge must be a positive duration (168h, P7D, 7.00:00:00)."];
        }
        return errors;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex JobName();
}
