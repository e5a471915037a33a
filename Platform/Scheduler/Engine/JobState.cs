using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// The engine's in-memory record of one owned job: kept small (1M of them must fit well under 1 GB), with the
/// data as serialized bytes (or left in the store, see <see cref="DataInStore"/>) and the schedule object shared between jobs of the same spec.
/// </summary>
internal sealed class JobState
{
    public required JobKey Key;
    public long RowId;
    public ulong PartitionId;
    /// <summary>The store's version of the definition this state was built from (see <see cref="StoredJob.Revision"/>).</summary>
    public long Revision;
    public ISchedule? Schedule;
    public uint Repeats;
    public long Created;
    public long Due;
    public long Expiration;
    /// <summary>Shared between jobs with the same policy; a record quarantined before its policy was read has the default.</summary>
    public RetryPolicy Policy = DefaultRetryPolicy.Compact;
    /// <summary>Kept aside with the trace context (see <see cref="JobStateRare"/>): a job loaded from a store that reads data
    /// back per trigger has none here.</summary>
    public byte[]? Data
    {
        get => _rare?.Data;
        set { if (value is not null || _rare is not null) Rare.Data = value; }
    }
    /// <summary>The data was left in the store at load (<see cref="Data"/> is null): it is read back per trigger.</summary>
    public bool DataInStore;
    /// <summary>W3C trace context of the scheduling request; kept aside with <see cref="Quarantine"/> (see <see cref="JobStateRare"/>).</summary>
    public string? TraceParent
    {
        get => _rare?.TraceParent;
        set { if (value is not null || _rare is not null) Rare.TraceParent = value; }
    }

    public string? TraceState
    {
        get => _rare?.TraceState;
        set { if (value is not null || _rare is not null) Rare.TraceState = value; }
    }

    private JobStateRare? _rare;
    private JobStateRare Rare => _rare ??= new JobStateRare();

    public uint Count;
    public long LastTrigger;
    public uint Attempts;
    public JobResultKind LastResult;

    /// <summary>Scheduled time of the tick being worked on; None when done.</summary>
    public long CurrentTick = TickCalculator.None;
    /// <summary>When the current attempt is due (tick + attempts × interval), as queued.</summary>
    public long FireAt;
    /// <summary>Bumped on every enqueue, so stale queue entries are recognised.</summary>
    public int QueueToken;
    /// <summary>Bumped on every dispatch, so a result for an older dispatch is ignored.</summary>
    public long DispatchSeq;
    public bool InFlight;
    public bool Staged;
    public bool Removed;
    /// <summary>Why the engine set this job aside (installing, loading or firing it failed); null when healthy.
    /// A quarantined job stays listed but is never dispatched, until it is overwritten or deleted.</summary>
    public string? Quarantine
    {
        get => _rare?.Quarantine;
        set { if (value is not null || _rare is not null) Rare.Quarantine = value; }
    }

    public JobProgress Progress => new(Count, LastTrigger, Attempts, LastResult);

    public long NextTick() => TickCalculator.Next(Schedule, Repeats, Created, Due, Expiration, Count, LastTrigger);
}
