namespace BackupWorker.Hosting;

internal static partial class Log
{
    [LoggerMessage(301, LogLevel.Information, "Job trigger of schedule {Schedule} received at {ReceivedAt:O} for tick {Tick:O} coalesced: run {RunId} backed up that tick already (a repeated delivery); no backup taken")]
    public static partial void TickAlreadyDone(this ILogger logger, string schedule, DateTimeOffset receivedAt, DateTimeOffset tick, string runId);

    [LoggerMessage(302, LogLevel.Information, "Job trigger of schedule {Schedule} received at {ReceivedAt:O} for tick {Tick:O} coalesced: run {RunId} started at {StartedAt:O}, after the tick, so it covers it; no backup taken")]
    public static partial void TickCovered(this ILogger logger, string schedule, DateTimeOffset receivedAt, DateTimeOffset tick, string runId, DateTimeOffset startedAt);

    [LoggerMessage(303, LogLevel.Warning, "Job trigger of schedule {Schedule}: ignored header dapr-job-scheduled-time '{Value}' (not RFC 3339 UTC); the trigger is treated as one without a tick")]
    public static partial void TickHeaderIgnored(this ILogger logger, string schedule, string value);

    [LoggerMessage(304, LogLevel.Warning, "Tick {Tick:O} of schedule {Schedule} was recorded as backed up by run {RunId}, which is no longer in the catalog; backing it up again")]
    public static partial void TickRunMissing(this ILogger logger, string schedule, DateTimeOffset tick, string runId);

    [LoggerMessage(305, LogLevel.Information, "Pruned {Count} tick records")]
    public static partial void TicksPruned(this ILogger logger, int count);
}
