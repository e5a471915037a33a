using System.Globalization;
using System.Text;

namespace Platform.Scheduler.Schedules;

/// <summary>Job name rules of current Dapr (1.16.17+/1.17.11+/1.18.2+).</summary>
public static class JobNameValidator
{
    /// <summary>Dapr's exact bound is unknown; 600 is rejected there, so we draw the line below it.</summary>
    public const int MaxLength = 512;

    /// <summary>Null when valid, else the reason.</summary>
    public static string? Check(string name)
    {
        if (name.Length == 0) return "name must not be empty";
        if (name is "." or "..") return "name must not be '.' or '..'";
        if (name.Length > MaxLength) return $"name must be no more than {MaxLength} characters";
        foreach (var c in name)
            if (c is '/' or '\\' or '#' or '?') return $"name must not contain '{c}'";
        foreach (var rune in name.EnumerateRunes())
        {
            // C0, DEL and C1 controls, and characters that are invisible or break lines (bidi overrides, zero-width, BOM,
            // tags, line separators) and so make a name display as another.
            if (Rune.IsControl(rune)) return "name must not contain control characters";
            if (Rune.GetUnicodeCategory(rune) is UnicodeCategory.Format or UnicodeCategory.LineSeparator or UnicodeCategory.ParagraphSeparator)
                return "name must not contain invisible formatting or line separator characters";
        }
        return null;
    }

    public static void Validate(string name)
    {
        if (Check(name) is { } reason) throw new JobValidationException($"job name is invalid {GoDuration.Quote(name)}: {reason}");
    }
}
