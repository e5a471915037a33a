namespace BackupApi;

// The API's own copy of what BackupWorker answers: the two apps share no assembly on purpose (they deploy and
// version separately).

public sealed record RetentionView(int? KeepLast, string? MaxAge, int? MinimumRedundancy);
