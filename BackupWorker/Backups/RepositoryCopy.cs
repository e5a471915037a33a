namespace BackupWorker.Backups;

/// <summary>
/// One backup in one repository, as runs, backups and the telemetry show it. <see cref="Key"/>, sizes and format are
/// set once it was uploaded; <see cref="NextAttemptAt"/> while it is pending; <see cref="Error"/> says why the last
/// attempt did not make it (never a key or a secret).
/// </summary>
public sealed record RepositoryCopy(
    string Repository, CopyState State, string? Key, long? StoredBytes, string? Compression, bool? Encrypted,
    int Attempts, DateTimeOffset? NextAttemptAt, string? Error, DateTimeOffset? VerifiedAt, DateTimeOffset UpdatedAt);
