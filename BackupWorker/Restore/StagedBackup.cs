using BackupWorker.Backups;

namespace BackupWorker.Restore;

/// <summary>A backup as a local file to restore from; disposing it removes the temp file a download made.</summary>
public sealed class StagedBackup(BackupRun backup, string? tempFile) : IDisposable
{
    public BackupRun Backup { get; } = backup;

    public void Dispose()
    {
        if (tempFile is not null) SqliteRestoreFiles.TryDelete(tempFile);
    }
}
