using Microsoft.Extensions.Logging;

namespace BackupWorker.Hosting;

/// <summary>What the worker logs while it checks its roots and puts its catalog and files right: at start, and what stopped replicas left running while it runs.</summary>
internal static partial class RootsLog
{
    [LoggerMessage(321, LogLevel.Critical, "The worker cannot start: {Reason}")]
    public static partial void RootsOverlap(this ILogger logger, string reason);

    [LoggerMessage(322, LogLevel.Warning, "Narrowed the permissions of {Path} to its owner alone (it was readable by others)")]
    public static partial void PermissionsNarrowed(this ILogger logger, string path);

    [LoggerMessage(323, LogLevel.Warning, "Backup run {RunId} of schedule {Schedule} was left running by a stopped worker; its backup {File} is intact and is recorded as succeeded")]
    public static partial void RunRecovered(this ILogger logger, string runId, string schedule, string file);

    [LoggerMessage(324, LogLevel.Warning, "Backup run {RunId} of schedule {Schedule} was left running by a stopped worker and is recorded as failed: {Reason}")]
    public static partial void RunInterrupted(this ILogger logger, string runId, string schedule, string reason);

    [LoggerMessage(325, LogLevel.Warning, "{Restores} restore(s) and {Drills} drill(s) left running by a stopped worker are recorded as failed (restores) and inconclusive (drills)")]
    public static partial void RestoresInterrupted(this ILogger logger, int restores, int drills);

    [LoggerMessage(326, LogLevel.Error, "Backup run {RunId} of schedule {Schedule}: the backup {File} is in place but the catalog could not record it ({Error}); the run stays running in the catalog until the worker's next start records it from the file")]
    public static partial void RunUnrecorded(this ILogger logger, string runId, string schedule, string file, string error);

    [LoggerMessage(327, LogLevel.Warning, "A pass over the work left running by stopped workers failed: {Error}")]
    public static partial void ReconcilePassFailed(this ILogger logger, string error);
}
