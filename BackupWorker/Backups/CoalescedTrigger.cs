namespace BackupWorker.Backups;

/// <summary>The answer to a trigger that an earlier run already covers: success, and which run that was.</summary>
public sealed record CoalescedTrigger(string Schedule, string CoveredByRun, DateTimeOffset RunStartedAt)
{
    public bool Coalesced => true;
}
