using System.Text;

namespace Platform.Sidecar.AccessControl;

/// <summary>
/// daprd's NormalizeMethod: the invoked method the access control checks, and the one the app then receives, is the
/// decoded path with '#', '?', NUL and control characters refused and dot segments resolved, so that
/// <c>public/../admin</c> is checked, and delivered, as <c>admin</c>.
/// </summary>
public static class MethodNormalizer
{
    /// <summary>The normalized method, or null with the reason daprd gives.</summary>
    public static string? Normalize(string method, out string? error)
    {
        error = null;
        foreach (var c in method)
        {
            if (c is '#' or '?' or '\0')
            {
                error = $"method contains forbidden character: {Quote(method)}";
                return null;
            }
        }
        for (var i = 0; i < method.Length; i++)
        {
            if (method[i] < 0x20 || method[i] == 0x7f)
            {
                error = $"method contains control character at position {i}: {Quote(method)}";
                return null;
            }
        }
        var cleaned = CleanPath(method);
        while (cleaned.StartsWith("../", StringComparison.Ordinal)) cleaned = cleaned[3..];
        return cleaned is ".." or "." ? "" : cleaned;
    }

    /// <summary>Go's path.Clean.</summary>
    public static string CleanPath(string path)
    {
        if (path.Length == 0) return ".";
        var rooted = path[0] == '/';
        var kept = new List<string>();
        foreach (var segment in path.Split('/'))
        {
            if (segment.Length == 0 || segment == ".") continue;
            if (segment == "..")
            {
                if (kept.Count > 0 && kept[^1] != "..") kept.RemoveAt(kept.Count - 1);
                else if (!rooted) kept.Add("..");
                continue;
            }
            kept.Add(segment);
        }
        var joined = string.Join('/', kept);
        if (rooted) return "/" + joined;
        return joined.Length == 0 ? "." : joined;
    }

    /// <summary>Re-escapes a normalized method segment by segment for the request to the app.</summary>
    public static string Escape(string method) => string.Join('/', method.Split('/').Select(Uri.EscapeDataString));

    private static string Quote(string value)
    {
        var quoted = new StringBuilder("\"");
        foreach (var c in value)
        {
            if (c is '"' or '\\') quoted.Append('\\').Append(c);
            else if (c < 0x20 || c == 0x7f) quoted.Append($"\\x{(int)c:x2}");
            else quoted.Append(c);
        }
        return quoted.Append('"').ToString();
    }
}
