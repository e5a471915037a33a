using System.Text.RegularExpressions;

namespace Shared;

/// <summary>
/// The shape of a schedule's <c>repositories</c> list. Both apps compile it from Shared/, so the API's early check
/// and the worker's never disagree; which names exist (the worker's Backup:Repositories) is for the worker alone to say.
/// </summary>
public static partial class RepositoryListRules
{
    /// <summary>Today's backup root, always part of a schedule: every backup is taken and verified there first.</summary>
    public const string Local = "local";

    public const int MaxRepositories = 8;

    public const string NameRule = "A repository name is 1-32 letters, digits, '-' or '_', starting with a letter or digit.";

    /// <summary>The list a schedule without one gets.</summary>
    public static IReadOnlyList<string> Default { get; } = [Local];

    /// <summary>Null when <paramref name="repositories"/> is an acceptable list (null means the default), else why not.</summary>
    public static string? Check(IReadOnlyList<string?>? repositories)
    {
        if (repositories is null) return null;
        if (repositories.Count is 0 or > MaxRepositories) return $"repositories names 1-{MaxRepositories} repositories (leave it out for [\"{Local}\"]).";
        foreach (var name in repositories)
            if (name is null || !Name().IsMatch(name)) return NameRule;
        if (repositories.Distinct(StringComparer.OrdinalIgnoreCase).Count() != repositories.Count) return "repositories names a repository more than once.";
        // The local copy is what every other repository is copied from, and it is always kept until copied.
        if (!repositories.Contains(Local, StringComparer.OrdinalIgnoreCase))
            return $"repositories must include \"{Local}\": every backup is taken and verified there first, then copied to the others.";
        return null;
    }

    /// <summary>The list as stored: the default for null, names in the given order, "local" spelled so.</summary>
    public static IReadOnlyList<string> Normalize(IReadOnlyList<string?>? repositories) =>
        repositories is null ? Default
            : repositories.Select(r => string.Equals(r, Local, StringComparison.OrdinalIgnoreCase) ? Local : r!.Trim()).ToList();

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")]
    private static partial Regex Name();
}
