namespace BackupWorker.Backups;

/// <summary>One backup attempt, whatever its outcome.</summary>
public sealed record BackupRun(
    string Id, string Schedule, string Database, string Trigger, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    long? Bytes, string? Checksum, string? File, RunOutcome Outcome, string? Error, DateTimeOffset? PrunedAt, string? ScheduleInstance = null)
{
    /// <summary>
    /// Where the backup is, per repository: the local copy (<see cref="File"/>, pruned once <see cref="PrunedAt"/> is set)
    /// and each object repository its schedule named. Null where the run's copies were not looked up.
    /// </summary>
    public IReadOnlyList<RepositoryCopy>? Copies { get; init; }

    /// <summary>
    /// True once the backup was verified in every repository its schedule named: only then does it count as made
    /// offsite too. Null where not looked up (a failed run is never complete).
    /// </summary>
    public bool? Complete { get; init; }
}
