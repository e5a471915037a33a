using BackupWorker.Hosting;

namespace BackupWorker.Backups;

/// <summary>
/// A schedule's retention, applied after each of its verified backups: prunes by <c>keepLast</c> and <c>maxAge</c>, within
/// what <see cref="RetentionGuard"/> protects, only the backups of the same schedule instance, database and location,
/// and never a file outside the backup root.
/// </summary>
internal sealed class RetentionPruner(
    BackupCatalog catalog, BackupPaths paths, BackupTelemetry telemetry, TimeProvider time, ILogger logger, IVerifiedBackupHook? verified,
    RepositoryCopyCatalog? copies = null)
{
    /// <summary>
    /// Applies the schedule's rule to the backups of this schedule instance, database and location only (a re-created or
    /// overwritten schedule of the same name is another instance), and only while the instance is still the live one.
    /// Never prunes the newest <see cref="RetentionRule.MinimumRedundancy"/> restorable backups of the instance, nor the
    /// newest restorable backup of the database, whatever <c>keepLast</c> and <c>maxAge</c> say.
    /// </summary>
    public void Apply(ScheduleRecord record, string currentRunId)
    {
        var current = catalog.GetSchedule(record.Name);
        if (record.Instance is null || current is null || current.Instance != record.Instance) return;
        var rule = current.Retention;
        if (rule.IsEmpty) return;
        string location;
        try
        {
            location = paths.ResolveLocation(current.Location);
        }
        catch (BackupLocationException)
        {
            return;
        }
        var now = time.GetUtcNow();
        var backups = catalog.ListBackups(schedule: record.Name, instance: record.Instance)
            .Where(b => b.PrunedAt is null && string.Equals(b.Database, current.Database, StringComparison.OrdinalIgnoreCase)
                && b.File is not null && Path.GetDirectoryName(Path.GetFullPath(b.File)) == location)
            .ToList();
        var kept = RetentionGuard.Protected(backups, catalog.ListBackups(database: current.Database), rule.MinimumRedundancy, IsRestorable);
        for (var i = 0; i < backups.Count; i++)
        {
            var backup = backups[i];
            if (backup.Id == currentRunId) continue; // Never remove what this run just made.
            var tooMany = rule.KeepLast is { } keep && i >= keep;
            var tooOld = rule.MaxAge is { } age && now - backup.StartedAt > age;
            if (!tooMany && !tooOld) continue;
            // A local copy is what its pending copies into object repositories are made from: kept until they are made.
            if (copies?.HasUnfinished(backup.Id) == true) continue;
            if (kept.Contains(backup.Id))
            {
                logger.PruneKeptForRedundancy(record.Name, backup.File ?? backup.Id, rule.MinimumRedundancy);
                continue;
            }
            try
            {
                // Files recorded before locations were confined may lie outside the root: those are never deleted.
                if (backup.File is not null && !IsUnderRoot(backup.File))
                {
                    logger.PruneFailed(backup.File, $"outside the backup root '{paths.BackupRoot}'; left in place");
                    continue;
                }
                // Recorded before the files go: a stop in between leaves an unlisted file, never a listed backup without one.
                catalog.MarkPruned(backup.Id, now);
                if (backup.File is not null)
                {
                    File.Delete(backup.File);
                    File.Delete(backup.File + BackupRunner.ChecksumExtension);
                }
                telemetry.Pruned.Add(1, new KeyValuePair<string, object?>("db.name", backup.Database));
                logger.Pruned(record.Name, backup.File ?? backup.Id);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.PruneFailed(backup.File ?? backup.Id, e.Message);
            }
        }
    }

    /// <summary>Restorable: its file is there and no conclusive drill found its content bad.</summary>
    private bool IsRestorable(BackupRun backup) =>
        backup.File is not null && File.Exists(backup.File) && (verified is null || verified.IsRestorable(backup.Id));

    private bool IsUnderRoot(string file) =>
        Path.GetFullPath(file).StartsWith(paths.BackupRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal);
}
