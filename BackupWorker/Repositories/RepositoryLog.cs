namespace BackupWorker.Repositories;

/// <summary>What the repositories log: names and sizes, never keys or connection strings.</summary>
internal static partial class RepositoryLog
{
    [LoggerMessage(341, LogLevel.Information, "Repository {Repository}: stored {Key} ({OriginalBytes} bytes, {StoredBytes} stored)")]
    public static partial void ObjectStored(this ILogger logger, string repository, string key, long originalBytes, long storedBytes);

    [LoggerMessage(342, LogLevel.Debug, "Repository {Repository}: verified {Key} end to end")]
    public static partial void ObjectVerified(this ILogger logger, string repository, string key);

    [LoggerMessage(343, LogLevel.Information, "Repository {Repository}: deleted {Key}")]
    public static partial void ObjectDeleted(this ILogger logger, string repository, string key);
}
