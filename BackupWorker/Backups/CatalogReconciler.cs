using System.Security.Cryptography;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Backups;

/// <summary>
/// Makes the catalog agree with the files at start. A backup run left running (the worker stopped, or the catalog
/// could not record its end) is recorded as succeeded when its final file and checksum file are in place and agree
/// (the run wrote both before its end was due), else as failed. A run whose schedule lock is held is live (this or
/// another worker) and left alone. Restores and drills left running are ended too; with other workers alive only
/// those older than their time limit, which cannot be live.
/// </summary>
public sealed class CatalogReconciler(
    BackupCatalog catalog, IRestoreRecords restores, BackupPaths paths, IOptions<BackupOptions> options, TimeProvider time, ILogger<CatalogReconciler> logger)
{
    public const string InterruptedReason = "interrupted: the worker stopped during the run";

    /// <param name="alone">No other worker process shares the data directory (see <see cref="WorkerPresence"/>).</param>
    public void Reconcile(bool alone)
    {
        foreach (var run in catalog.ListRunningRuns())
        {
            using var runLock = ScheduleRunLock.TryAcquire(paths, run.Schedule);
            if (runLock is null) continue; // a live run of this schedule holds it
            var now = time.GetUtcNow();
            BackupRun? recovered;
            string? why;
            try
            {
                recovered = Recover(run, out why);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                (recovered, why) = (null, $"its backup '{run.File}' could not be read: {e.Message}");
            }
            if (recovered is not null)
            {
                if (catalog.CompleteRunningRun(recovered)) logger.RunRecovered(run.Id, run.Schedule, recovered.File!);
            }
            else
            {
                var reason = why is null ? InterruptedReason : $"{InterruptedReason} ({why})";
                if (catalog.CompleteRunningRun(run with { EndedAt = now, File = null, Outcome = RunOutcome.Failed, Error = reason }))
                    logger.RunInterrupted(run.Id, run.Schedule, reason);
            }
        }
        var at = time.GetUtcNow();
        // Another worker's restore or drill may be live, but none outlives its time limit.
        DateTimeOffset? before = alone ? null : at - options.Value.RestoreTimeout - TimeSpan.FromMinutes(1);
        var (restoreCount, drillCount) = restores.FailRunning(at, before, InterruptedReason);
        if (restoreCount + drillCount > 0) logger.RestoresInterrupted(restoreCount, drillCount);
    }

    /// <summary>The run as succeeded, when its final file and a matching checksum file exist; else null and why not (null: no file named).</summary>
    private static BackupRun? Recover(BackupRun run, out string? why)
    {
        why = null;
        if (run.File is not { } file) return null;
        if (!File.Exists(file))
        {
            why = $"its backup '{file}' was not completed";
            return null;
        }
        var checksumFile = file + BackupRunner.ChecksumExtension;
        // A stop between the two renames leaves the checksum under its temp name; it was written and fsynced before.
        var checksumTemp = Path.Combine(Path.GetDirectoryName(file)!, $".{Path.GetFileName(file)}{BackupRunner.ChecksumExtension}{BackupFiles.PartialSuffix}");
        var source = File.Exists(checksumFile) ? checksumFile : File.Exists(checksumTemp) ? checksumTemp : null;
        if (source is null)
        {
            why = $"its backup '{file}' has no checksum file";
            return null;
        }
        var recorded = File.ReadAllText(source).Split(' ', 2)[0].Trim();
        string actual;
        long bytes;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
        {
            actual = Convert.ToHexStringLower(SHA256.HashData(stream));
            bytes = stream.Length;
        }
        if (!string.Equals(recorded, actual, StringComparison.OrdinalIgnoreCase))
        {
            why = $"its backup '{file}' does not match its checksum";
            return null;
        }
        if (source == checksumTemp)
        {
            File.Move(checksumTemp, checksumFile, overwrite: false);
            BackupFiles.FsyncDirectory(Path.GetDirectoryName(file)!);
        }
        var ended = File.GetLastWriteTimeUtc(checksumFile);
        return run with
        {
            EndedAt = ended > run.StartedAt.UtcDateTime ? new DateTimeOffset(ended, TimeSpan.Zero) : run.StartedAt,
            Bytes = bytes,
            Checksum = actual,
            Outcome = RunOutcome.Succeeded,
            Error = "recovered at start: the worker stopped before recording the end of the run; its backup and checksum were found intact",
        };
    }
}
