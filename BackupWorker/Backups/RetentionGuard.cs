namespace BackupWorker.Backups;

/// <summary>
/// What retention may never remove (Barman's <c>minimum_redundancy</c>): the newest restorable backups of the schedule
/// instance up to its minimum, and the newest restorable backup of the database across every schedule, so that pruning
/// never leaves a database without a good backup.
/// </summary>
public static class RetentionGuard
{
    /// <param name="scope">The instance's backups in retention's scope, newest first.</param>
    /// <param name="database">Every backup of the database still on disk, newest first.</param>
    public static HashSet<string> Protected(
        IReadOnlyList<BackupRun> scope, IReadOnlyList<BackupRun> database, int minimumRedundancy, Func<BackupRun, bool> isRestorable)
    {
        var kept = scope.Where(isRestorable).Take(Math.Max(1, minimumRedundancy)).Select(b => b.Id).ToHashSet(StringComparer.Ordinal);
        if (database.FirstOrDefault(isRestorable) is { } newest) kept.Add(newest.Id);
        return kept;
    }
}
