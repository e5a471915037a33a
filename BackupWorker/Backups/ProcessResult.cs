namespace BackupWorker.Backups;

internal sealed record ProcessResult(int ExitCode, string StandardOutput, string StandardError);
