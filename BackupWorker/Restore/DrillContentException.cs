namespace BackupWorker.Restore;

/// <summary>
/// A drill found the backup itself bad: its checksum does not match, it fails <c>integrity_check</c>, the dump cannot be
/// read, or the restored copy differs from its manifest. Only this marks a backup not restorable; a drill that fails
/// any other way could not run and proves nothing about the backup.
/// </summary>
public sealed class DrillContentException(string message, Exception? inner = null) : Exception(message, inner);
