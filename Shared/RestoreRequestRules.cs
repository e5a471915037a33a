using System.Text.RegularExpressions;

namespace Shared;

/// <summary>
/// The shape a restore request must have. Both apps compile it from Shared/ (as <c>BackupLocationRules</c>), so
/// the API's early check and the worker's never disagree. Where a target finally resolves (restore root, links,
/// existing files and databases) is for the worker alone to check.
/// </summary>
public static partial class RestoreRequestRules
{
    public const int MaxTargetLength = 200;
    public const int MaxRequestedByLength = 100;
    public const int MaxDatabaseNameLength = 40;

    public const string TargetDescription =
        "target is, for SQLite, a relative file path under the worker's restore root (1-8 segments separated by '/', each 1-100 of " +
        "A-Z a-z 0-9 '.' '_' '-' not starting with '.'; no absolute path, '..', '\\', ':' or empty segment), and for PostgreSQL a database " +
        "name of 1-40 lower-case letters, digits and '_' not starting with a digit.";

    /// <summary>Field errors of a restore request; empty when its shape is acceptable.</summary>
    public static Dictionary<string, string[]> Check(string? backupId, string? schedule, string? database, string? target, string? requestedBy, string? repository = null)
    {
        var errors = new Dictionary<string, string[]>();
        var selectors = new[] { backupId, schedule, database }.Count(s => s is not null);
        if (selectors != 1) errors["backupId"] = ["Name exactly one of backupId, schedule (its newest backup) or database (its newest backup)."];
        if (backupId is not null && !BackupId().IsMatch(backupId)) errors["backupId"] = ["backupId is a backup's id: 32 lower-case hex digits."];
        if (schedule is not null && !Name().IsMatch(schedule)) errors["schedule"] = ["A schedule name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit."];
        if (database is not null && !Name().IsMatch(database)) errors["database"] = ["A database name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit."];
        if (target is not null && CheckFileTarget(target) is { } targetError) errors["target"] = [targetError];
        if (requestedBy is not null && (requestedBy.Length is 0 or > MaxRequestedByLength || requestedBy.Any(char.IsControl)))
            errors["requestedBy"] = [$"requestedBy is 1-{MaxRequestedByLength} characters without control characters."];
        if (repository is not null && !Repository().IsMatch(repository))
            errors["repository"] = ["repository is 'local' or a configured object repository's name: 1-32 letters, digits, '-' or '_', starting with a letter or digit."];
        return errors;
    }

    /// <summary>Null when <paramref name="target"/> is a plain relative path (a PostgreSQL database name is one too), else why not.</summary>
    public static string? CheckFileTarget(string target)
    {
        if (target.Length == 0 || target.Length > MaxTargetLength) return $"target must be 1-{MaxTargetLength} characters. " + TargetDescription;
        foreach (var c in target)
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/'))
                return $"target contains '{(char.IsControl(c) ? "a control character" : c)}', which is not allowed. " + TargetDescription;
        if (target[0] == '/') return "target must be relative to the restore root, not absolute. " + TargetDescription;
        var segments = target.Split('/');
        if (segments.Length > 8) return "target has more than 8 segments. " + TargetDescription;
        foreach (var segment in segments)
        {
            if (segment.Length == 0) return "target has an empty segment ('//' or a trailing '/'). " + TargetDescription;
            if (segment is "." or "..") return $"target contains a '{segment}' segment. " + TargetDescription;
            if (segment[0] == '.') return "target segments cannot start with '.'. " + TargetDescription;
            if (segment.Length > 100) return "a target segment is longer than 100 characters. " + TargetDescription;
        }
        return null;
    }

    /// <summary>Null when <paramref name="name"/> may name a PostgreSQL restore target, else why not.</summary>
    public static string? CheckDatabaseTarget(string name)
    {
        if (!DatabaseName().IsMatch(name)) return $"'{name}' is not a database name a restore may target. " + TargetDescription;
        if (name is "postgres" or "template0" or "template1") return $"'{name}' is a system database; a restore never targets it.";
        return null;
    }

    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex BackupId();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex Name();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
    private static partial Regex Repository();

    [GeneratedRegex("^[a-z_][a-z0-9_]{0,39}$")]
    private static partial Regex DatabaseName();
}
