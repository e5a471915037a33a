namespace BackupWorker.Restore;

/// <summary>Drill every <see cref="Every"/>th successful backup of a schedule; null turns drills off.</summary>
public sealed record DrillPolicyRequest(int? Every);
