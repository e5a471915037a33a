using Platform.Scheduler.Limits;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// The jobs this engine fires: its partition, the table of owned jobs built from what the store holds (installed,
/// replaced, quarantined, forgotten) and their count per app. Runs under the engine's lock, except
/// <see cref="Owns"/> and <see cref="Partition"/> (volatile) and <see cref="Intern"/> (its own small lock).
/// </summary>
internal sealed partial class JobOwnership(TriggerQueue queue, IJobStore store, ILogger logger, Partition? partition)
{
    private readonly HashSet<JobState> _jobs = new(JobStateKeyComparer.Instance);
    private HashSet<JobState>.AlternateLookup<JobKey> ByKey => _jobs.GetAlternateLookup<JobKey>();
    private readonly Dictionary<string, string> _interned = new(StringComparer.Ordinal);
    /// <summary>The jobs this engine fires; null while it owns none (a replica between elections).</summary>
    private volatile Partition? _partition = partition;

    public Partition? Partition
    {
        get => _partition;
        set => _partition = value;
    }

    public int Count => _jobs.Count;

    /// <summary>Sizes the job table once for <paramref name="jobs"/>, rather than by doubling as they load.</summary>
    public void EnsureCapacity(int jobs) => _jobs.EnsureCapacity(jobs);

    /// <summary>Jobs held per app, with the places reserved for writes under way (see <see cref="JobAdmission"/>).</summary>
    public AppJobCounts AppJobs { get; } = new();

    public bool Owns(ulong partitionId) => _partition?.Owns(partitionId) ?? false;

    public bool TryGet(JobKey key, out JobState state) => ByKey.TryGetValue(key, out state!);

    public bool Contains(JobKey key) => ByKey.Contains(key);

    /// <summary>Applies a committed change of the store; true when the store lost track and the owned jobs must be reloaded.</summary>
    public bool Apply(JobChange change)
    {
        switch (change)
        {
            case JobChange.Put put:
                InstallIfNewer(put.Job);
                break;
            case JobChange.Deleted deleted:
                if (ByKey.TryGetValue(deleted.Key, out var gone) && (deleted.Revision == 0 || gone.Revision < deleted.Revision)) Forget(gone);
                break;
            case JobChange.Resync:
                return true;
            case JobChange.PrefixDeleted prefix:
                foreach (var name in prefix.Names)
                    if (ByKey.TryGetValue(new JobKey(prefix.Namespace, prefix.AppId, name), out var g)) Forget(g);
                break;
        }
        return false;
    }

    /// <summary>
    /// Takes a stored definition in place of the one held, unless the held one is as new (the store's watch echoes this
    /// replica's own writes, and a reload may read a job a later change already brought); a job this engine does not
    /// own is only let go.
    /// </summary>
    public void InstallIfNewer(StoredJob stored)
    {
        if (!Replaces(stored.Key, stored.Revision)) return;
        if (Owns(stored.PartitionId)) Install(Preparer.Prepare(stored));
    }

    /// <summary><see cref="InstallIfNewer(StoredJob)"/> for a job prepared off the lock (see <see cref="JobPreparer"/>).</summary>
    public void InstallIfNewer(in PreparedJob job)
    {
        var state = job.State;
        // A load finds the table without the key: one insert, rather than a lookup and then the insert.
        if (Owns(state.PartitionId) && _jobs.Add(state))
        {
            AppJobs.Added(state.Key);
            Schedule(state, job.Error);
            return;
        }
        if (!Replaces(state.Key, state.Revision)) return;
        if (Owns(state.PartitionId)) Install(job);
    }

    /// <summary>Forgets the held job of <paramref name="key"/> unless it is as new as <paramref name="revision"/> (then false).</summary>
    private bool Replaces(JobKey key, long revision)
    {
        if (ByKey.TryGetValue(key, out var held))
        {
            if (revision != 0 && held.Revision >= revision) return false;
            Forget(held);
        }
        return true;
    }

    /// <summary>Prepares jobs under the lock; a load prepares its own on its reader thread (<see cref="NewPreparer"/>).</summary>
    private JobPreparer Preparer => _preparer ??= new JobPreparer(this);
    private JobPreparer? _preparer;

    /// <summary>A preparer for use off the lock, by one thread.</summary>
    public JobPreparer NewPreparer() => new(this);

    /// <summary>Takes a prepared job into the timer queue; a job it cannot take is quarantined, never thrown.</summary>
    private void Install(in PreparedJob job)
    {
        Track(job.State);
        Schedule(job.State, job.Error);
    }

    private void Schedule(JobState state, Exception? error)
    {
        if (error is not null)
        {
            Quarantine(state, "install", error);
            return;
        }
        try
        {
            if (!queue.ScheduleNextTick(state, keepAttempts: true)) Finish(state);
        }
        catch (Exception e)
        {
            Quarantine(state, "install", e);
        }
    }

    /// <summary>
    /// Sets a job aside after <paramref name="stage"/> failed for it: logged, kept visible with its reason, never
    /// dispatched again (its queue entries are invalidated) until it is overwritten or deleted.
    /// </summary>
    public void Quarantine(JobState state, string stage, Exception error)
    {
        state.Quarantine = $"{stage} failed: {error.Message}";
        state.QueueToken++;
        state.InFlight = false;
        state.Staged = false;
        state.CurrentTick = TickCalculator.None;
        LogQuarantined(logger, error, state.Key.ToString(), stage);
    }

    /// <summary>The job has no tick left: forgotten here, and its deletion queued unless it is replaced meanwhile.</summary>
    public void Finish(JobState state)
    {
        Forget(state);
        store.EnqueueCompletion(state.RowId, state.PartitionId);
        LogJobDone(logger, state.Key.ToString(), state.Count);
    }

    private void Track(JobState state)
    {
        if (_jobs.Add(state)) AppJobs.Added(state.Key);
        else
        {
            // Another state of the same key is held: this one takes its place.
            ByKey.Remove(state.Key);
            _jobs.Add(state);
        }
    }

    /// <summary>
    /// The store no longer holds the definition this state was built from (overwritten or deleted, its change not yet
    /// applied here): it is forgotten now, as the change will forget it, and nothing of it is sent.
    /// </summary>
    public void ForgetReplaced(JobState state)
    {
        Forget(state);
        LogReplacedBeforeFire(logger, state.Key.ToString());
    }

    private void Forget(JobState state)
    {
        state.Removed = true;
        if (ByKey.Remove(state.Key)) AppJobs.Removed(state.Key);
    }

    /// <summary>Forgets every held job (marked removed, so their queue entries and staged triggers are skipped).</summary>
    public void DropAll()
    {
        foreach (var state in _jobs.ToList()) Forget(state);
    }

    /// <summary>Live progress and next due time of an owned job, and why it is quarantined (null when it is not).</summary>
    public bool TryGetLiveStatus(JobKey key, out JobProgress progress, out DateTimeOffset? nextDue, out string? quarantine)
    {
        if (ByKey.TryGetValue(key, out var s))
        {
            progress = s.Progress;
            quarantine = s.Quarantine;
            nextDue = s.CurrentTick == TickCalculator.None || s.Quarantine is not null ? null
                : new DateTimeOffset(Math.Min(s.Attempts > 0 ? s.FireAt : s.CurrentTick, TriggerQueue.LastInstant), TimeSpan.Zero);
            return true;
        }
        progress = default;
        nextDue = null;
        quarantine = null;
        return false;
    }

    /// <summary>One string instance per namespace and app id, however many jobs and streams name it.</summary>
    public string Intern(string s)
    {
        lock (_interned)
        {
            if (_interned.TryGetValue(s, out var existing)) return existing;
            _interned[s] = s;
            return s;
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {Key} was overwritten or deleted in the store as it came due; its trigger is not sent")]
    private static partial void LogReplacedBeforeFire(ILogger logger, string key);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Job {Key} finished after {Count} ticks; deleting")]
    private static partial void LogJobDone(ILogger logger, string key, uint count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Job {Key} is quarantined: {Stage} failed; it will not be dispatched until it is overwritten or deleted")]
    private static partial void LogQuarantined(ILogger logger, Exception exception, string key, string stage);
}
