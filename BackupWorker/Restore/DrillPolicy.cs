namespace BackupWorker.Restore;

public sealed record DrillPolicy(string Schedule, int? Every);
