using Shared;

namespace BackupWorker.Backups;

/// <summary>
/// A backup schedule as this worker recorded it when it created the job. <see cref="Instance"/> tells apart the
/// lifetimes of one name: every create and every overwrite is a new instance, and retention only ever touches the
/// backups of its own instance. Null when writing means "start a new one". <see cref="JobConfirmed"/>: the sidecar
/// accepted the job (until then a missing job means "not scheduled yet", not "gone"). <see cref="EndedAt"/>: the job
/// was found gone (deleted elsewhere, repeats or TTL done); an ended schedule governs nothing any more.
/// </summary>
public sealed record ScheduleRecord(
    string Name, string Database, string Location, string? Schedule, int? Repeats, string? DueTime, string? Ttl,
    RetentionRule Retention, DateTimeOffset CreatedAt, string? Instance = null, bool JobConfirmed = false,
    DateTimeOffset? EndedAt = null, string? EndedReason = null)
{
    /// <summary>The repositories every backup of the schedule must reach, <c>local</c> first among them.</summary>
    public IReadOnlyList<string> Repositories
    {
        get => RepositoryNames.Split(',');
        init => RepositoryNames = string.Join(',', value);
    }

    /// <summary><see cref="Repositories"/> as stored (comma-separated): a string, so two records of one schedule compare equal.</summary>
    public string RepositoryNames { get; private init; } = RepositoryListRules.Local;
}
