namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

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
    /// <summary>This lifetime of the schedule: every create and overwrite starts a new one, and retention stays within it.</summary>
    public string? Instance { get; init; }

    /// <summary>Set once the schedule's job was found gone (deleted elsewhere, repeats or TTL done): it governs nothing since.</summary>
    public DateTimeOffset? EndedAt { get; init; }

    public string? EndedReason { get; init; }

    /// <summary>Where each backup must be verified before it counts as made (<c>local</c> first); null for a job made elsewhere.</summary>
    public IReadOnlyList<string>? Repositories { get; init; }
}
