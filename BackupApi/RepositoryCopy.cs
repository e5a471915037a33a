namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

/// <summary>
/// A backup in one repository. <c>state</c>: Pending (not there yet: <c>error</c> says why, <c>nextAttemptAt</c> when it
/// is tried again; the local copy is kept meanwhile), Copied (uploaded, not yet read back), Verified (read back end to
/// end: restorable from there), Failed (will not be copied: <c>error</c>), Pruned (removed by that repository's retention).
/// </summary>
public sealed record RepositoryCopy(
    string Repository, string State, string? Key, long? StoredBytes, string? Compression, bool? Encrypted,
    int Attempts, DateTimeOffset? NextAttemptAt, string? Error, DateTimeOffset? VerifiedAt, DateTimeOffset UpdatedAt);
