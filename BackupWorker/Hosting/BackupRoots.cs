namespace BackupWorker.Hosting;

/// <summary>
/// The places the worker writes to must stay apart: a backup root holding the restore root would put backups among
/// restores and safety copies (and retention and the start-up sweep would act on them); one holding a database file
/// would back up into the database's own directory. The worker refuses to start on such a configuration.
/// </summary>
public static class BackupRoots
{
    /// <summary>Null when no two of <paramref name="roots"/> contain one another (or are one), else what overlaps, naming both paths.</summary>
    public static string? FindOverlap(IReadOnlyList<(string Role, string Path)> roots)
    {
        // Compared as they finally resolve too, so a root reached through a symbolic link is not taken for a separate place.
        var resolved = roots.Select(r => (r.Role, r.Path, Real: Canonical(r.Path))).ToList();
        for (var i = 0; i < resolved.Count; i++)
        for (var j = i + 1; j < resolved.Count; j++)
        {
            var (a, b) = (resolved[i], resolved[j]);
            var relation =
                Contains(a.Path, b.Path) && Contains(b.Path, a.Path) || Contains(a.Real, b.Real) && Contains(b.Real, a.Real) ? "is the same path as"
                : Contains(a.Path, b.Path) || Contains(a.Real, b.Real) ? "contains"
                : Contains(b.Path, a.Path) || Contains(b.Real, a.Real) ? "lies inside"
                : null;
            if (relation is not null)
                return $"The {a.Role} '{a.Path}' {relation} the {b.Role} '{b.Path}'. They must be separate: set Backup:BackupRoot, Backup:RestoreRoot and the databases' Data Source so that none contains another.";
        }
        return null;
    }

    /// <summary>Whether <paramref name="outer"/> is <paramref name="inner"/> or one of its ancestors (absolute paths).</summary>
    public static bool Contains(string outer, string inner)
    {
        var comparison = OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;
        outer = Path.TrimEndingDirectorySeparator(outer);
        inner = Path.TrimEndingDirectorySeparator(inner);
        if (string.Equals(outer, inner, comparison)) return true;
        // The filesystem root ends with its separator even when trimmed.
        var prefix = outer.EndsWith(Path.DirectorySeparatorChar) ? outer : outer + Path.DirectorySeparatorChar;
        return inner.StartsWith(prefix, comparison);
    }

    /// <summary>
    /// The absolute path with every symbolic link among its existing components followed (a path that does not exist
    /// yet keeps its missing tail as written).
    /// </summary>
    public static string Canonical(string path, int depth = 0)
    {
        var full = Path.GetFullPath(path);
        if (depth > 40) return full; // a link loop: leave it as written
        var root = Path.GetPathRoot(full) ?? "";
        var current = root;
        var segments = full[root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        for (var i = 0; i < segments.Length; i++)
        {
            var next = Path.Combine(current, segments[i]);
            FileSystemInfo info = new FileInfo(next);
            string? target;
            try
            {
                target = info.LinkTarget;
            }
            catch (IOException)
            {
                target = null;
            }
            if (target is null)
            {
                current = next;
                continue;
            }
            var rest = string.Join(Path.DirectorySeparatorChar, segments[(i + 1)..]);
            var linked = Path.GetFullPath(target, current);
            return Canonical(rest.Length == 0 ? linked : Path.Combine(linked, rest), depth + 1);
        }
        return full;
    }
}
