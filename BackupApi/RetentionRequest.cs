namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

/// <summary>
/// Keep the newest <c>keepLast</c> backups and/or none older than <c>maxAge</c> (<c>168h</c>, <c>P7D</c>, <c>7.00:00:00</c>),
/// but never fewer than <c>minimumRedundancy</c> restorable ones (1-1000, default 1), and never the database's newest
/// restorable backup.
/// </summary>
public sealed record RetentionRequest(int? KeepLast, string? MaxAge, int? MinimumRedundancy = null)
{
    public const int MaxMinimumRedundancy = 1000;
}
