namespace BackupWorker.Backups;

/// <summary>A backup location the worker refuses to write to.</summary>
public sealed class BackupLocationException(string message) : Exception(message);
