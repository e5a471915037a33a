namespace BackupApi;

/// <summary>Section <c>BackupApi</c>.</summary>
public sealed class BackupApiOptions
{
    public const int DefaultMaxMissedBackups = 5;

    /// <summary>From the AppHost's secret parameter <c>backupapi-key</c>; at least 16 characters.</summary>
    public string ApiKey { get; set; } = "";

    /// <summary>
    /// The most missed backups a new schedule may replay at once: a schedule whose due time lies so far in the past
    /// that the scheduler's catch-up would fire more triggers than this at creation is refused (400).
    /// </summary>
    public int MaxMissedBackups { get; set; } = DefaultMaxMissedBackups;

    /// <summary>
    /// How long a call to the worker may take. "Run now" waits for the whole backup; restores and drills do not wait
    /// for their work (the worker answers 202 and they are polled), so this never cuts one short.
    /// </summary>
    public TimeSpan WorkerTimeout { get; set; } = TimeSpan.FromMinutes(10);
}
