namespace BackupWorker.Hosting;

internal static partial class Log
{
    [LoggerMessage(130, LogLevel.Warning, "Restore {RestoreId}: {Target} was written by another connection right after the restore, so its contents were not compared with the backup's: {Differences}")]
    public static partial void RestoredFileWrittenSince(this ILogger logger, string restoreId, string target, string differences);

    [LoggerMessage(131, LogLevel.Error, "Restore {RestoreId}: {Target} {Problem} after the restore; what it held before was put back from safety copy {SafetyCopy}")]
    public static partial void RestorePutBack(this ILogger logger, string restoreId, string target, string problem, string safetyCopy);

    [LoggerMessage(132, LogLevel.Critical, "Restore {RestoreId}: {Target} {Problem} after the restore, and putting back safety copy {SafetyCopy} failed: {Error}")]
    public static partial void RestorePutBackFailed(this ILogger logger, string restoreId, string target, string problem, string safetyCopy, string error);

    [LoggerMessage(133, LogLevel.Warning, "Restore {RestoreId}: another connection committed to {Target} around the restore; a commit just before the restore took its lock is in neither the restored database nor safety copy {SafetyCopy}")]
    public static partial void RestoreRacedWriter(this ILogger logger, string restoreId, string target, string safetyCopy);
}
