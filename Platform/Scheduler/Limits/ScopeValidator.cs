using Platform.Scheduler.Schedules;

namespace Platform.Scheduler.Limits;

/// <summary>
/// The namespace and app id a request names. Dapr's scheduler takes them as given (its sidecars stamp their own); here
/// a value no sidecar could carry is refused before it reaches the store or the logs: over-long, or with control characters;
/// and one that would collide with the store's key layout (<c>app||namespace||app id||name</c>): holding "||", or
/// beginning or ending with '|', which would run into a separator.
/// </summary>
public static class ScopeValidator
{
    public const int MaxLength = 256;

    public const string Separator = "||";

    public static string? Check(string value)
    {
        if (value.Length > MaxLength) return $"must be no more than {MaxLength} characters";
        if (CollidesWithKeyLayout(value)) return $"must not contain '{Separator}' nor begin or end with '|'";
        foreach (var rune in value.EnumerateRunes())
        {
            if (System.Text.Rune.IsControl(rune)) return "must not contain control characters";
            if (System.Text.Rune.GetUnicodeCategory(rune) is System.Globalization.UnicodeCategory.Format
                or System.Globalization.UnicodeCategory.LineSeparator or System.Globalization.UnicodeCategory.ParagraphSeparator)
                return "must not contain invisible formatting or line separator characters";
        }
        return null;
    }

    private static bool CollidesWithKeyLayout(string value) =>
        value.Contains(Separator, StringComparison.Ordinal) || value.StartsWith('|') || value.EndsWith('|');

    /// <summary>Throws <see cref="JobArgumentException"/> (gRPC InvalidArgument) for an unusable namespace or app id.</summary>
    public static void Validate(string @namespace, string appId)
    {
        // Dapr's text for a key that would hold its separator (its state and lock APIs' key validation).
        foreach (var value in (ReadOnlySpan<string>)[@namespace, appId])
            if (CollidesWithKeyLayout(value)) throw new JobArgumentException($"input key/keyPrefix '{value}' can't contain '{Separator}'");
        if (Check(@namespace) is { } ns) throw new JobArgumentException($"invalid namespace in request: {ns}");
        if (Check(appId) is { } app) throw new JobArgumentException($"invalid appID in request: {app}");
    }
}
