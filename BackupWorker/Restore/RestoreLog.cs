namespace BackupWorker.Hosting;

internal static partial class Log
{
    [LoggerMessage(101, LogLevel.Information, "Restore {RestoreId} of backup {BackupId} ({Database}) into {Target} requested by {RequestedBy} succeeded in {Seconds:0.000} s")]
    public static partial void RestoreSucceeded(this ILogger logger, string restoreId, string backupId, string database, string target, string requestedBy, double seconds);

    [LoggerMessage(102, LogLevel.Error, "Restore {RestoreId} of backup {BackupId} ({Database}) into {Target} failed: {Error}")]
    public static partial void RestoreFailed(this ILogger logger, string restoreId, string backupId, string database, string target, string error);

    [LoggerMessage(103, LogLevel.Information, "Restore {RestoreId}: safety copy of {Target} kept at {SafetyCopy}")]
    public static partial void SafetyCopyKept(this ILogger logger, string restoreId, string target, string safetyCopy);

    [LoggerMessage(104, LogLevel.Information, "Drill {DrillId} of backup {BackupId} (schedule {Schedule}, {Database}) succeeded: {Tables} tables as recorded")]
    public static partial void DrillSucceeded(this ILogger logger, string drillId, string backupId, string schedule, string database, int tables);

    [LoggerMessage(105, LogLevel.Error, "Drill {DrillId} of backup {BackupId} (schedule {Schedule}, {Database}) found its content bad; the backup is marked not restorable: {Error}")]
    public static partial void DrillFailed(this ILogger logger, string drillId, string backupId, string schedule, string database, string error);

    [LoggerMessage(106, LogLevel.Warning, "Could not record what backup file {File} holds; drills of it will fail: {Error}")]
    public static partial void ManifestFailed(this ILogger logger, string file, string error);

    [LoggerMessage(107, LogLevel.Warning, "Drill {DrillId} of backup {BackupId} is inconclusive; the backup's verdict is unchanged and the drill will be retried: {Error}")]
    public static partial void DrillInconclusive(this ILogger logger, string drillId, string backupId, string error);

    [LoggerMessage(108, LogLevel.Information, "Retrying the inconclusive drill of backup {BackupId} (attempt {Attempt})")]
    public static partial void DrillRetry(this ILogger logger, string backupId, int attempt);

    [LoggerMessage(110, LogLevel.Warning, "Could not look for inconclusive drills to retry; the next pass tries again: {Error}")]
    public static partial void DrillRetryPassFailed(this ILogger logger, string error);

    [LoggerMessage(109, LogLevel.Warning, "Retention kept every backup of schedule {Schedule}: the new backup {BackupId} was drilled and not verified ({Outcome})")]
    public static partial void PruneSkippedUnverified(this ILogger logger, string schedule, string backupId, string outcome);

    [LoggerMessage(111, LogLevel.Information, "Restore {RestoreId} of {Database} is queued: the worker's concurrency limits are reached")]
    public static partial void RestoreQueued(this ILogger logger, string restoreId, string database);
}
