namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

/// <summary>A backup, what it recorded, and whether it may be restored (false once a drill of it failed).</summary>
public sealed record BackupDetails(BackupRun Backup, DatabaseManifest? Manifest, bool Restorable, DrillRecord? LastDrill);
