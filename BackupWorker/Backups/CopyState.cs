namespace BackupWorker.Backups;

/// <summary>
/// Where a backup stands in one repository. <see cref="Pending"/>: not there yet; tried again at its next attempt
/// (the last error says why it is not there). <see cref="Copied"/>: uploaded, its read-back check not yet done.
/// <see cref="Verified"/>: read back end to end and matching: restorable from there. <see cref="Failed"/>: it will not
/// be copied (the local copy it would come from is gone or differs from what was recorded). <see cref="Pruned"/>:
/// removed by that repository's retention.
/// </summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<CopyState>))]
public enum CopyState { Pending, Copied, Verified, Failed, Pruned }
