namespace BackupWorker.Backups;

/// <summary>
/// What a backup run hands on once its copy is verified, seen from the runner: the drill side (Restore's DrillService)
/// implements it, so Backups names no type of Restore and the two rooms do not depend on each other. Retention asks it
/// too, before it deletes anything, whether a backup is still restorable.
/// </summary>
public interface IVerifiedBackupHook
{
    /// <summary>What the verified copy holds, read before it takes its name; null (logged) when it cannot be read.</summary>
    Task<DatabaseManifest?> CaptureManifestAsync(string provider, string backupFile, CancellationToken cancellationToken);

    /// <summary>
    /// Called once the backup is recorded as succeeded, within its run's slot; never throws. Returns the outcome of a
    /// drill of it that did not succeed (retention then prunes nothing, so every older backup stays), else null.
    /// </summary>
    Task<string?> AfterVerifiedBackupAsync(BackupRun run, DatabaseManifest? manifest, CancellationToken cancellationToken);

    /// <summary>False only when the backup's latest conclusive drill found its content bad.</summary>
    bool IsRestorable(string backupId);
}
