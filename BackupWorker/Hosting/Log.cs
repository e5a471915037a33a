using Microsoft.Extensions.Logging;

namespace BackupWorker.Hosting;

internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Information, "Backup run {RunId} of schedule {Schedule} started: database {Database} ({Trigger})")]
    public static partial void RunStarted(this ILogger logger, string runId, string schedule, string database, string trigger);

    [LoggerMessage(2, LogLevel.Information, "Backup run {RunId} of schedule {Schedule} succeeded: {Database} to {File} ({Bytes} bytes, sha256 {Checksum}) in {Seconds:0.000} s")]
    public static partial void RunSucceeded(this ILogger logger, string runId, string schedule, string database, string file, long bytes, string checksum, double seconds);

    [LoggerMessage(3, LogLevel.Error, "Backup run {RunId} of schedule {Schedule} failed: {Error}")]
    public static partial void RunFailed(this ILogger logger, string runId, string schedule, string error);

    [LoggerMessage(4, LogLevel.Information, "Retention of schedule {Schedule} removed backup {File}")]
    public static partial void Pruned(this ILogger logger, string schedule, string file);

    [LoggerMessage(5, LogLevel.Warning, "Retention could not remove {File}: {Error}")]
    public static partial void PruneFailed(this ILogger logger, string file, string error);

    [LoggerMessage(6, LogLevel.Information, "Job trigger received: {JobName} ({Bytes} payload bytes)")]
    public static partial void TriggerReceived(this ILogger logger, string jobName, int bytes);

    [LoggerMessage(32, LogLevel.Information, "Job trigger received: {JobName} ({Bytes} payload bytes), scheduled for {ScheduledTime:O}, {DelayMilliseconds:0.0} ms after it")]
    public static partial void TriggerReceivedForTick(this ILogger logger, string jobName, int bytes, DateTimeOffset scheduledTime, double delayMilliseconds);

    [LoggerMessage(7, LogLevel.Information, "Scheduled job {JobName}: database {Database} to {Location}, schedule {Schedule}")]
    public static partial void Scheduled(this ILogger logger, string jobName, string database, string location, string schedule);

    [LoggerMessage(8, LogLevel.Information, "Deleted job {JobName}")]
    public static partial void Deleted(this ILogger logger, string jobName);

    [LoggerMessage(9, LogLevel.Information, "Demo job {JobName} already exists; leaving it as it is")]
    public static partial void DemoJobExists(this ILogger logger, string jobName);

    [LoggerMessage(10, LogLevel.Warning, "Sidecar not ready for the demo job (attempt {Attempt}, next in {DelaySeconds} s): {Error}")]
    public static partial void DemoJobRetry(this ILogger logger, int attempt, double delaySeconds, string error);

    [LoggerMessage(11, LogLevel.Error, "Gave up scheduling the demo job {JobName} after {Attempts} attempts: {Error}")]
    public static partial void DemoJobGaveUp(this ILogger logger, string jobName, int attempts, string error);

    [LoggerMessage(12, LogLevel.Information, "Seeded the embedded database {Database} at {File} with {Rows} rows")]
    public static partial void Seeded(this ILogger logger, string database, string file, int rows);

    [LoggerMessage(13, LogLevel.Warning, "Backup run {RunId} of schedule {Schedule}: the request named database {RequestedDatabase} at {RequestedLocation}; the schedule's own {Database} at {Location} is used, and this run applies no retention")]
    public static partial void PayloadIgnored(this ILogger logger, string runId, string schedule, string requestedDatabase, string requestedLocation, string database, string location);

    [LoggerMessage(14, LogLevel.Warning, "Removed {Count} partial backup file(s) left by an interrupted run under {Root}")]
    public static partial void PartialsSwept(this ILogger logger, int count, string root);

    [LoggerMessage(15, LogLevel.Information, "Removed {Count} run(s) from the catalog's history (Backup:RunHistoryMaxAge / RunHistoryMaxCount)")]
    public static partial void HistoryPruned(this ILogger logger, int count);

    [LoggerMessage(16, LogLevel.Information, "Job trigger of schedule {Schedule} received at {ReceivedAt:O} coalesced: no tick of the schedule falls after run {RunId} started at {StartedAt:O}, so that run covers it; no backup taken")]
    public static partial void TriggerCoalesced(this ILogger logger, string schedule, DateTimeOffset receivedAt, string runId, DateTimeOffset startedAt);

    [LoggerMessage(30, LogLevel.Information, "Retention of schedule {Schedule} kept {File}: it is among the newest {MinimumRedundancy} restorable backups, or the database's newest restorable one")]
    public static partial void PruneKeptForRedundancy(this ILogger logger, string schedule, string file, int minimumRedundancy);

    [LoggerMessage(31, LogLevel.Information, "Run {RunId} of schedule {Schedule} ({Database}) is queued: the worker's concurrency limits are reached (Backup:MaxConcurrentPerDatabase / PerServer / Work)")]
    public static partial void RunQueued(this ILogger logger, string runId, string schedule, string database);
}
