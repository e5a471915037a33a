using BackupWorker.Hosting;

using BackupWorker.Backups;

namespace BackupWorker.Restore;

/// <summary>How backups of one provider are restored, as <see cref="Backups.IDatabaseBackupProvider"/> says how they are taken.</summary>
internal interface IRestoreProvider
{
    /// <summary>The provider name of the databases it restores (Backup:Databases:*:Provider, lower case).</summary>
    string Provider { get; }

    /// <summary>
    /// Checks the request against the target as it is now and plans the restore; throws <see cref="RestoreProblemException"/>
    /// (or the provider's own unavailable/refused exceptions) without touching anything.
    /// </summary>
    Task<IRestorePlan> PlanAsync(RestoreRequest request, BackupRun backup, DatabaseOptions database, string id, CancellationToken cancellationToken);

    /// <summary>What a backup file of this provider holds, read as a restored copy is, for drills to compare with.</summary>
    Task<DatabaseManifest> ReadBackupManifestAsync(string backupFile, CancellationToken cancellationToken);

    /// <summary>
    /// A drill: restores the backup (a local file whose checksum was checked) into scratch, reads what the copy holds,
    /// and removes the scratch. Throws <see cref="DrillContentException"/> when the backup's content is bad; any other
    /// failure proves nothing about the backup.
    /// </summary>
    Task<DatabaseManifest> RestoreScratchAsync(BackupRun backup, DatabaseOptions database, string drillId, CancellationToken cancellationToken);
}
