namespace Shared;

/// <summary>
/// The shape a backup location must have when an operator sends one (BackupApi and the worker's <c>/schedules</c>):
/// a relative path under the worker's backup root made of plain segments. Both apps compile it from Shared/, so the
/// API's early check can never disagree with the worker's. Where the path finally resolves (symlinks included)
/// is for the worker alone to check (<see cref="BackupPaths.ResolveLocation"/>).
/// </summary>
public static class BackupLocationRules
{
    public const int MaxLength = 200;
    public const int MaxSegmentLength = 100;
    public const int MaxDepth = 8;

    public const string Description =
        "location must be a relative path under the worker's backup root: 1-8 segments separated by '/', each 1-100 of " +
        "A-Z a-z 0-9 '.' '_' '-' not starting with '.', at most 200 characters (no absolute path, '..', '\\', ':', empty segment or control character).";

    /// <summary>Null when <paramref name="location"/> is acceptable, else why not.</summary>
    public static string? Check(string? location)
    {
        if (location is null) return null; // The worker picks <database> (under its backup root).
        if (location.Length == 0 || string.IsNullOrWhiteSpace(location)) return "location cannot be empty. " + Description;
        if (location.Length > MaxLength) return $"location is longer than {MaxLength} characters. " + Description;
        foreach (var c in location)
        {
            if (char.IsControl(c)) return "location contains a control character. " + Description;
            if (!(char.IsAsciiLetterOrDigit(c) || c is '.' or '_' or '-' or '/'))
                return $"location contains '{c}', which is not allowed. " + Description;
        }
        if (location[0] == '/') return "location must be relative, not absolute. " + Description;
        var segments = location.Split('/');
        if (segments.Length > MaxDepth) return $"location has more than {MaxDepth} segments. " + Description;
        foreach (var segment in segments)
        {
            if (segment.Length == 0) return "location has an empty segment ('//' or a trailing '/'). " + Description;
            if (segment is "." or "..") return $"location contains a '{segment}' segment. " + Description;
            if (segment[0] == '.') return "location segments cannot start with '.'. " + Description;
            if (segment.Length > MaxSegmentLength) return $"a location segment is longer than {MaxSegmentLength} characters. " + Description;
        }
        return null;
    }
}
