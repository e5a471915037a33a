namespace BackupWorker.Schedules;

/// <summary>
/// Keep the newest <see cref="KeepLast"/> backups and/or none older than <see cref="MaxAge"/> (e.g. <c>168h</c>, <c>P7D</c>,
/// <c>7.00:00:00</c>), but never fewer than <see cref="MinimumRedundancy"/> restorable ones (default 1).
/// </summary>
public sealed record RetentionRequest(int? KeepLast, string? MaxAge, int? MinimumRedundancy = null)
{
    public const int MaxMinimumRedundancy = 1000;
}
