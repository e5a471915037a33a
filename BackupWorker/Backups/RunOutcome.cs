namespace BackupWorker.Backups;

/// <summary>How a run stands. <see cref="Queued"/>: waiting for a slot under the worker's concurrency limits.</summary>
[System.Text.Json.Serialization.JsonConverter(typeof(System.Text.Json.Serialization.JsonStringEnumConverter<RunOutcome>))]
public enum RunOutcome { Running, Succeeded, Failed, Queued }
