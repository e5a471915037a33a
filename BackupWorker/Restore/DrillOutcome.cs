namespace BackupWorker.Restore;

/// <summary>
/// How a drill ended. <see cref="Failed"/>: the backup's content is bad (checksum, integrity, unreadable dump, manifest
/// mismatch), so it is not restorable until a later drill succeeds. <see cref="Inconclusive"/>: the drill could not run
/// (server down, disk full, permission, timeout, cancellation); it proves nothing, changes nothing, and is retried later.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<DrillOutcome>))]
public enum DrillOutcome { Running, Succeeded, Failed, Inconclusive }
