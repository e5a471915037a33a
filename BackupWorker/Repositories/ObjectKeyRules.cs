namespace BackupWorker.Repositories;

/// <summary>
/// The object keys a repository accepts: relative paths of safe characters, no empty, "." or ".." segments, so a key
/// means the same object on every kind of storage.
/// </summary>
public static class ObjectKeyRules
{
    public const int MaxLength = 512;

    public static void Validate(string key)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        if (key.Length > MaxLength) throw new ArgumentException($"An object key is at most {MaxLength} characters.", nameof(key));
        if (!key.All(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.' or '/'))
            throw new ArgumentException("An object key holds only ASCII letters, digits, '-', '_', '.' and '/'.", nameof(key));
        if (key.Split('/').Any(segment => segment is "" or "." or ".."))
            throw new ArgumentException("An object key has no empty, '.' or '..' segment and does not start or end with '/'.", nameof(key));
    }
}
