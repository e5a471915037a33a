using System.Text.RegularExpressions;
using Shared;

namespace BackupApi;

/// <summary>
/// Checks the shape of a request before it travels. Whether the schedule expression itself is valid is for Dapr to
/// say: its message comes back as the ProblemDetails detail, so operators see the runtime's own words.
/// </summary>
public static partial class ScheduleValidator
{
    public const int MaxScheduleLength = 200;
    public const int MaxTimeLength = 100;

    /// <summary>How far ahead a due time or ttl may lie: further is a typo, not a plan.</summary>
    public static readonly TimeSpan MaxHorizon = TimeSpan.FromDays(365.25 * 100);

    /// <summary>The shortest <c>@every</c> period: Dapr accepts <c>@every 1ns</c>, which would fire backups back-to-back.</summary>
    public static readonly TimeSpan MinEvery = TimeSpan.FromSeconds(1);

    public const string NameRule = "A name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit.";

    /// <summary>Whether <paramref name="name"/> can name a schedule (a route's <c>{name}</c> or a request's <c>name</c>).</summary>
    public static bool IsName(string? name) => name is not null && JobName().IsMatch(name);

    public static Dictionary<string, string[]> Validate(CreateScheduleRequest request, DateTimeOffset now, int maxMissedBackups = BackupApiOptions.DefaultMaxMissedBackups)
    {
        var errors = new Dictionary<string, string[]>();
        if (string.IsNullOrWhiteSpace(request.Database)) errors["database"] = ["A database name is required."];
        else if (!JobName().IsMatch(request.Database))
            errors["database"] = ["A database name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit (as configured in the worker's Backup:Databases)."];
        if (request.Name is not null && !JobName().IsMatch(request.Name)) errors["name"] = [NameRule];
        if (string.IsNullOrWhiteSpace(request.Schedule) && string.IsNullOrWhiteSpace(request.DueTime))
            errors["schedule"] = ["A schedule (cron with seconds, @every 1m, @daily, ...) or a dueTime is required."];
        else if (request.Schedule is { } schedule && (schedule.Length > MaxScheduleLength || schedule.Any(char.IsControl)))
            errors["schedule"] = [$"A schedule is at most {MaxScheduleLength} characters, without control characters."];
        else if (request.Schedule?.Trim() is { } trimmed && trimmed.StartsWith("@every ", StringComparison.Ordinal)
            && Durations.TryParseDuration(trimmed["@every ".Length..], out var every) && every < MinEvery)
            errors["schedule"] = [$"An @every period is at least {MinEvery.TotalSeconds:0} s."];
        // Present but empty is a mistake, not "leave it out" (which is what omitting the field says).
        foreach (var (field, value) in new[] { ("schedule", request.Schedule), ("dueTime", request.DueTime), ("ttl", request.Ttl), ("retention.maxAge", request.Retention?.MaxAge) })
            if (value is not null && string.IsNullOrWhiteSpace(value)) errors[field] = [$"{field} cannot be empty; leave it out instead."];
        if (request.Repeats < 1) errors["repeats"] = ["repeats must be at least 1 when given (Dapr: defined repeats must be greater than 0)."];
        if (BackupLocationRules.Check(request.Location) is { } location) errors["location"] = [location];
        // Which names exist is the worker's to say (its configured repositories); it answers an unknown one with 400.
        if (RepositoryListRules.Check(request.Repositories) is { } repositories) errors["repositories"] = [repositories];
        DateTimeOffset? due = null, expiration = null;
        if (!string.IsNullOrWhiteSpace(request.DueTime))
        {
            if (!(request.DueTime.Length <= MaxTimeLength && Durations.TryParseInstant(request.DueTime, now, out var d)))
                errors["dueTime"] = ["Not an RFC 3339 time or a duration (10s, 1h30m, PT10M) within the representable range."];
            else if (d - now > MaxHorizon) errors["dueTime"] = ["dueTime is more than 100 years away."];
            else due = d;
        }
        if (!string.IsNullOrWhiteSpace(request.Ttl))
        {
            if (!(request.Ttl.Length <= MaxTimeLength && Durations.TryParseInstant(request.Ttl, due ?? now, out var t)))
                errors["ttl"] = ["Not an RFC 3339 time or a duration (10s, 1h30m, PT10M) within the representable range."];
            else if (t - now > MaxHorizon) errors["ttl"] = ["ttl is more than 100 years away."];
            else if (t < (due ?? now)) errors["ttl"] = ["ttl must be after the dueTime (or now, without one); Dapr: ttl must be greater than due time."];
            else expiration = t;
        }
        if (request.Retention is { } retention)
        {
            if (retention.KeepLast is < 1) errors["retention.keepLast"] = ["keepLast must be at least 1."];
            if (retention.MinimumRedundancy is < 1 or > RetentionRequest.MaxMinimumRedundancy)
                errors["retention.minimumRedundancy"] = [$"minimumRedundancy is 1-{RetentionRequest.MaxMinimumRedundancy} (restorable backups retention always keeps)."];
            if (!string.IsNullOrWhiteSpace(retention.MaxAge)
                && !(retention.MaxAge.Length <= MaxTimeLength && Durations.TryParseDuration(retention.MaxAge, out var age) && age > TimeSpan.Zero))
                errors["retention.maxAge"] = ["maxAge must be a positive duration (168h, P7D, 7.00:00:00)."];
        }
        // A due time in the past makes the scheduler replay every tick since then back-to-back (Dapr's catch-up):
        // creating such a schedule would start a burst of backups.
        if (errors.Count == 0 && due is { } first && first <= now && !string.IsNullOrWhiteSpace(request.Schedule))
        {
            // Counted with the scheduler's own parser: a schedule it cannot read cannot be counted, and an uncounted
            // catch-up is not allowed (the scheduler would refuse such a schedule anyway).
            if (ScheduleTicks.TryParse(request.Schedule) is not { } ticks)
                errors["dueTime"] = ["dueTime lies in the past, and the schedule is not one the scheduler accepts, so how many missed backups it would replay at once cannot be counted. Give a dueTime in the future, or correct the schedule."];
            else if (ticks.CountDueBy(first, now, request.Repeats, expiration, maxMissedBackups) > maxMissedBackups)
                errors["dueTime"] = [$"dueTime lies in the past: with this schedule the scheduler would replay more than {maxMissedBackups} missed backups at once (the bound is BackupApi:MaxMissedBackups = {maxMissedBackups}). Give a later dueTime, fewer repeats or a ttl."];
        }
        return errors;
    }

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex JobName();
}
