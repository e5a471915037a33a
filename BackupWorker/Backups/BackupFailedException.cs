namespace BackupWorker.Backups;

/// <summary>A backup or verification that failed for a reason worth telling the operator verbatim.</summary>
public sealed class BackupFailedException(string message, Exception? inner = null) : Exception(message, inner);
