using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// Makes a stored job into the engine's record: all of an install that needs nothing the engine's lock guards, so a
/// load can do it on its reader thread while the installer holds the lock only for the table and the queue. Not safe
/// for concurrent use: one per thread (the ownership's own, under the lock, and one per load).
/// </summary>
internal sealed class JobPreparer(JobOwnership ownership)
{
    /// <summary>Parsed schedules by their text: 1M jobs typically share a few.</summary>
    private readonly Dictionary<string, ISchedule> _schedules = new(StringComparer.Ordinal);

    /// <summary>Policies other than the default, by value: jobs that share one share its instance.</summary>
    private readonly Dictionary<RetryPolicy, RetryPolicy> _policies = [];

    // The last namespace and app id prepared, as given and as interned: a load gives the same instances row after row.
    private (string Given, string Interned) _lastNamespace = ("", ""), _lastAppId = ("", "");

    /// <summary>
    /// The job's record, or, when it cannot be taken (unreadable row, unparsable schedule or policy), a record of its key
    /// and ids with the reason: nothing one row holds may stop start-up.
    /// </summary>
    public PreparedJob Prepare(StoredJob stored)
    {
        var key = new JobKey(InternScope(stored.Key.Namespace, ref _lastNamespace), InternScope(stored.Key.AppId, ref _lastAppId), stored.Key.Name);
        try
        {
            if (stored.LoadError is { } loadError) throw new InvalidDataException(loadError);
            ISchedule? schedule = null;
            if (stored.Schedule is not null && !_schedules.TryGetValue(stored.Schedule, out schedule))
            {
                try { schedule = ScheduleParser.Parse(stored.Schedule); }
                catch (ScheduleFormatException e) { throw new InvalidDataException("unparsable schedule: " + e.Message, e); }
                if (_schedules.Count < 100_000) _schedules[stored.Schedule] = schedule;
            }
            return new PreparedJob(new JobState
            {
                Key = key,
                RowId = stored.RowId,
                PartitionId = stored.PartitionId,
                Revision = stored.Revision,
                Schedule = schedule,
                Repeats = stored.Repeats ?? 0,
                Created = stored.Created,
                Due = stored.Due,
                Expiration = stored.Expiration,
                Policy = Shared(RetryPolicy.From(stored.FailurePolicy)),
                Data = stored.Data,
                DataInStore = stored.DataInStore,
                TraceParent = stored.TraceParent,
                TraceState = stored.TraceState,
                Count = stored.Progress.Count,
                LastTrigger = stored.Progress.LastTrigger,
                Attempts = stored.Progress.Attempts,
                LastResult = stored.Progress.LastResult,
            }, null);
        }
        catch (Exception e)
        {
            return new PreparedJob(new JobState { Key = key, RowId = stored.RowId, PartitionId = stored.PartitionId, Revision = stored.Revision }, e);
        }
    }

    private RetryPolicy Shared(RetryPolicy policy)
    {
        if (ReferenceEquals(policy, DefaultRetryPolicy.Compact)) return policy;
        if (_policies.TryGetValue(policy, out var shared)) return shared;
        if (_policies.Count < 10_000) _policies[policy] = policy;
        return policy;
    }

    private string InternScope(string s, ref (string Given, string Interned) last)
    {
        if (ReferenceEquals(s, last.Given)) return last.Interned;
        var interned = ownership.Intern(s);
        last = (s, interned);
        return interned;
    }
}
