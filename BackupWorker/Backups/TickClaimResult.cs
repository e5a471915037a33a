namespace BackupWorker.Backups;

/// <summary>What <see cref="TriggerTickCatalog.Claim"/> found for a tick.</summary>
public enum TickClaimResult
{
    /// <summary>The caller holds the tick now (new, its earlier run failed, or its claimant died): it may run it.</summary>
    Claimed,

    /// <summary>A run that succeeded backs up the tick already.</summary>
    AlreadyDone,

    /// <summary>Another delivery of the tick, in a live worker process, holds it: wait and look again.</summary>
    HeldElsewhere,
}
