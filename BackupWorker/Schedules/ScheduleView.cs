using BackupWorker.Backups;

namespace BackupWorker.Schedules;

public sealed record ScheduleView(
    string Name,
    string Database,
    string Location,
    string? Schedule,
    int? Repeats,
    string? DueTime,
    string? Ttl,
    RetentionView Retention,
    DateTimeOffset? CreatedAt,
    bool Active,
    JobView? Job,
    IReadOnlyList<BackupRun>? Runs = null)
{
    /// <summary>This lifetime of the schedule (every create and overwrite starts a new one); null for a job made elsewhere.</summary>
    public string? Instance { get; init; }

    /// <summary>When the schedule was found to have ended (its job gone), and why; it then governs nothing.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    public string? EndedReason { get; init; }

    /// <summary>Where each backup must be verified before it counts as made (<c>local</c> first); null for a job made elsewhere.</summary>
    public IReadOnlyList<string>? Repositories { get; init; }
}
