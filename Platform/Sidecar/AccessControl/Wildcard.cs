namespace Platform.Sidecar.AccessControl;

/// <summary>'*' matches any run of characters, empty included; every other character matches itself.</summary>
public static class Wildcard
{
    public static bool IsMatch(string target, string pattern)
    {
        // Dynamic programming over (target prefix, pattern prefix), as daprd does: linear space, no backtracking blow-up.
        var previous = new bool[pattern.Length + 1];
        var current = new bool[pattern.Length + 1];
        previous[0] = true;
        for (var j = 1; j <= pattern.Length && pattern[j - 1] == '*'; j++) previous[j] = true;
        for (var i = 1; i <= target.Length; i++)
        {
            current[0] = false;
            for (var j = 1; j <= pattern.Length; j++)
            {
                current[j] = pattern[j - 1] == '*'
                    ? current[j - 1] || previous[j]
                    : target[i - 1] == pattern[j - 1] && previous[j - 1];
            }
            (previous, current) = (current, previous);
        }
        return previous[pattern.Length];
    }
}
