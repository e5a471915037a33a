namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

/// <summary>
/// One backup attempt. <c>outcome</c>: Running, Succeeded or Failed; <c>prunedAt</c> set once retention removed its local
/// file. <c>copies</c>: where a succeeded backup is, per repository; <c>complete</c>: verified in every repository its
/// schedule names (only then does it count as made there).
/// </summary>
public sealed record BackupRun(
    string Id, string Schedule, string Database, string Trigger, DateTimeOffset StartedAt, DateTimeOffset? EndedAt,
    long? Bytes, string? Checksum, string? File, string Outcome, string? Error, DateTimeOffset? PrunedAt)
{
    public IReadOnlyList<RepositoryCopy>? Copies { get; init; }

    public bool? Complete { get; init; }
}
