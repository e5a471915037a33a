namespace BackupWorker.Backups;

/// <summary>
/// Retention of one schedule: keep the newest <see cref="KeepLast"/> backups and/or none older than <see cref="MaxAge"/>,
/// but never fewer than <see cref="MinimumRedundancy"/> restorable ones (Barman's <c>minimum_redundancy</c>; at least 1).
/// </summary>
public sealed record RetentionRule(int? KeepLast, TimeSpan? MaxAge, int MinimumRedundancy = RetentionRule.DefaultMinimumRedundancy)
{
    public const int DefaultMinimumRedundancy = 1;

    public bool IsEmpty => KeepLast is null && MaxAge is null;
}
