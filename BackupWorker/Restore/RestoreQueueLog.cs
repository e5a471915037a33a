namespace BackupWorker.Hosting;

internal static partial class Log
{
    [LoggerMessage(120, LogLevel.Error, "Restore {RestoreId} did not record its end; recorded as failed: {Error}")]
    public static partial void RestoreAbandoned(this ILogger logger, string restoreId, string error);

    [LoggerMessage(121, LogLevel.Error, "Drill {DrillId} did not record its end; recorded as inconclusive: {Error}")]
    public static partial void DrillAbandoned(this ILogger logger, string drillId, string error);
}
