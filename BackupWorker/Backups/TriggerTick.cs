namespace BackupWorker.Backups;

/// <summary>
/// The tick a trigger is for (its scheduled time, from our sidecar's <c>dapr-job-scheduled-time</c> header) and where
/// ticks are recorded. Real daprd sends no tick; then a trigger has none and is coalesced by its arrival time.
/// </summary>
public sealed record TriggerTick(DateTimeOffset ScheduledTime, TriggerTickCatalog Ticks);
