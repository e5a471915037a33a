namespace BackupWorker.Schedules;

public sealed record RetentionView(int? KeepLast, string? MaxAge, int? MinimumRedundancy);
