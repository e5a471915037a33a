namespace BackupWorker.Backups;

/// <summary>
/// What the backup side reads from, and ends in, the restore records. The restore side's catalog (Restore's
/// RestoreCatalog) implements it, so that, as with <see cref="IVerifiedBackupHook"/>, Backups names no type of Restore.
/// </summary>
public interface IRestoreRecords
{
    /// <summary>False only when the latest conclusive drill of the backup's copy in <paramref name="repository"/> found its content bad.</summary>
    bool IsRestorable(string backupId, string repository);

    /// <summary>
    /// Ends the restores and drills still recorded as running (only those started before <paramref name="startedBefore"/>
    /// when given) as failed with <paramref name="reason"/>; returns how many of each.
    /// </summary>
    (int Restores, int Drills) FailRunning(DateTimeOffset endedAt, DateTimeOffset? startedBefore, string reason);
}
