namespace BackupWorker.Hosting;

/// <summary>How a configured database's name appears in paths.</summary>
public static class DatabaseNames
{
    /// <summary>
    /// The name as one directory name: characters other than ASCII letters, digits, '-', '_' and '.' become '_', and
    /// leading dots go. Restores are filed under it, and so are the object keys of backups kept outside the backup
    /// root: changing it would lose track of copies already made.
    /// </summary>
    public static string AsDirectoryName(string name)
    {
        var safe = new string(name.Select(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' ? c : '_').ToArray()).TrimStart('.');
        return safe.Length == 0 ? "database" : safe;
    }
}
