using BackupWorker.Hosting;
using BackupWorker.Repositories;

namespace BackupWorker.Backups;

/// <summary>
/// A schedule's retention in one object repository, applied after a new copy was verified there: the same rule as
/// the local one (<see cref="RetentionPruner"/>), counted over the copies verified in that repository only, so a copy
/// there is removed only by that repository's retention. It never removes the newest
/// <see cref="RetentionRule.MinimumRedundancy"/> restorable copies of the instance there, nor the database's newest
/// restorable copy there.
/// </summary>
internal sealed class RepositoryRetention(
    BackupCatalog catalog, RepositoryCopyCatalog copies, IBackupRepository repository, IRestoreRecords? restores,
    BackupTelemetry telemetry, TimeProvider time, ILogger logger)
{
    public async Task ApplyAsync(BackupRun newest, CancellationToken cancellationToken)
    {
        var current = catalog.GetSchedule(newest.Schedule);
        if (newest.ScheduleInstance is null || current is null || current.Instance != newest.ScheduleInstance) return;
        var rule = current.Retention;
        if (rule.IsEmpty) return;
        var name = repository.Name;
        var scope = Held(catalog.ListBackups(schedule: current.Name, instance: current.Instance)
            .Where(b => string.Equals(b.Database, current.Database, StringComparison.OrdinalIgnoreCase)));
        var kept = RetentionGuard.Protected(scope.Select(s => s.Backup).ToList(), Held(catalog.ListBackups(database: current.Database)).Select(s => s.Backup).ToList(),
            rule.MinimumRedundancy, b => restores?.IsRestorable(b.Id, name) ?? true);
        var now = time.GetUtcNow();
        for (var i = 0; i < scope.Count; i++)
        {
            var (backup, copy) = scope[i];
            if (backup.Id == newest.Id) continue; // Never remove what was just verified.
            var tooMany = rule.KeepLast is { } keep && i >= keep;
            var tooOld = rule.MaxAge is { } age && now - backup.StartedAt > age;
            if (!tooMany && !tooOld) continue;
            if (kept.Contains(backup.Id))
            {
                logger.CopyKeptForRedundancy(current.Name, backup.Id, name, rule.MinimumRedundancy);
                continue;
            }
            // Recorded before the object goes: a stop in between leaves an unlisted object, never a listed copy without one.
            copies.SetPruned(backup.Id, name, now);
            try
            {
                await repository.DeleteAsync(copy.Key!, cancellationToken);
                telemetry.Pruned.Add(1, new("db.name", backup.Database), new("backup.repository", name));
                logger.CopyPruned(current.Name, backup.Id, name, copy.Key!);
            }
            catch (Exception e) when (e is RepositoryUnavailableException or OperationCanceledException)
            {
                logger.CopyPruneFailed(name, copy.Key!, e.Message);
            }
        }
    }

    /// <summary>The backups verified in this repository, newest first, with their copy there.</summary>
    private List<(BackupRun Backup, RepositoryCopy Copy)> Held(IEnumerable<BackupRun> backups) =>
        backups.Select(b => (Backup: b, Copy: copies.Get(b.Id, repository.Name)))
            .Where(p => p.Copy is { State: CopyState.Verified, Key: not null })
            .Select(p => (p.Backup, p.Copy!)).ToList();
}
