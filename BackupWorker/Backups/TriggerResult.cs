namespace BackupWorker.Backups;

/// <summary>A trigger's answer: the run that backs it up, and whether that run was an earlier one (coalesced).</summary>
public sealed record TriggerResult(BackupRun Run, bool Coalesced);
