namespace BackupWorker.Backups;

internal static partial class RepositoryCopyLog
{
    [LoggerMessage(401, LogLevel.Information, "Backup {RunId} verified in repository {Repository} as {Key} ({StoredBytes} bytes stored, {Compression}, encrypted {Encrypted}) in {Seconds:0.000} s")]
    public static partial void CopyVerified(this ILogger logger, string runId, string repository, string key, long storedBytes, string compression, bool encrypted, double seconds);

    [LoggerMessage(402, LogLevel.Warning, "Backup {RunId} is not yet in repository {Repository} (attempt {Attempts}): {Error}; next attempt at {NextAttemptAt:O}; the local copy is kept")]
    public static partial void CopyPending(this ILogger logger, string runId, string repository, int attempts, string error, DateTimeOffset nextAttemptAt);

    [LoggerMessage(403, LogLevel.Error, "Backup {RunId} will not be copied into repository {Repository}: {Error}")]
    public static partial void CopyFailed(this ILogger logger, string runId, string repository, string error);

    [LoggerMessage(404, LogLevel.Information, "Retention of schedule {Schedule} removed backup {RunId} from repository {Repository} ({Key})")]
    public static partial void CopyPruned(this ILogger logger, string schedule, string runId, string repository, string key);

    [LoggerMessage(405, LogLevel.Warning, "Retention could not remove {Key} from repository {Repository}: {Error}; the copy is no longer listed")]
    public static partial void CopyPruneFailed(this ILogger logger, string repository, string key, string error);

    [LoggerMessage(406, LogLevel.Information, "Retention of schedule {Schedule} keeps backup {RunId} in repository {Repository}: it is among the restorable copies it must keep (minimum {Minimum})")]
    public static partial void CopyKeptForRedundancy(this ILogger logger, string schedule, string runId, string repository, int minimum);

    [LoggerMessage(407, LogLevel.Warning, "A pass over the copies due for another attempt failed: {Error}")]
    public static partial void CopyRetryPassFailed(this ILogger logger, string error);

    [LoggerMessage(408, LogLevel.Warning, "The attempt at backup {RunId}'s copy into repository {Repository} was dropped: its claim was taken over by another worker, whose record stands")]
    public static partial void CopyTakenOver(this ILogger logger, string runId, string repository);
}
