using BackupWorker.Backups;

namespace BackupWorker.Restore;

/// <summary>A backup with what it recorded and whether it may be restored (false while its latest conclusive drill found it bad).</summary>
public sealed record BackupDetails(BackupRun Backup, DatabaseManifest? Manifest, bool Restorable, DrillRecord? LastDrill);
