using System.Security.Cryptography;
using Google.Protobuf;
using Platform.Scheduler.Limits;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// Whether a job may be stored: its key, timing and failure policy validated (Dapr's texts), and the quotas checked,
/// with places held for writes under way so concurrent calls cannot together pass a bound. <see cref="Reserve"/> and
/// <see cref="Release"/> run under the engine's lock.
/// </summary>
internal sealed class JobAdmission(SchedulerEngineOptions options, IJobStore store, JobOwnership ownership, TimeProvider time)
{
    private readonly StoreReservations _storeReservations = new();

    /// <summary>
    /// The job as it will be stored. Throws <see cref="JobValidationException"/> (Dapr's text), <see cref="JobArgumentException"/>
    /// or <see cref="JobQuotaException"/> for data over the per-job bound.
    /// </summary>
    public StoredJob Admit(JobKey key, JobDefinition definition)
    {
        ValidateKey(key);
        // Malformed protobuf values are refused before anything is stored: a stored one could not be applied.
        RetryPolicy.Validate(definition.FailurePolicy);
        var now = time.GetUtcNow();
        var timing = JobTiming.Resolve(new JobTimingSpec(definition.Schedule, definition.Repeats, definition.DueTime, definition.Ttl), now);
        var data = definition.Data?.ToByteArray();
        if (options.MaxJobDataBytes > 0 && data is not null && data.Length > options.MaxJobDataBytes)
            throw new JobQuotaException($"job data is {data.Length} bytes, over the limit of {options.MaxJobDataBytes} bytes per job");
        return new StoredJob
        {
            Key = key,
            PartitionId = NewPartitionId(),
            Schedule = definition.Schedule,
            Repeats = definition.Repeats,
            DueTime = definition.DueTime,
            Ttl = definition.Ttl,
            Data = data,
            FailurePolicy = RetryPolicy.Normalize(definition.FailurePolicy).ToByteArray(),
            Created = timing.Created.UtcTicks,
            Due = timing.Due?.UtcTicks ?? TickCalculator.None,
            Expiration = timing.Expiration?.UtcTicks ?? long.MaxValue,
            TraceParent = definition.TraceParent,
            TraceState = definition.TraceState,
        };
    }

    public static void ValidateKey(JobKey key)
    {
        ScopeValidator.Validate(key.Namespace, key.AppId);
        JobNameValidator.Validate(key.Name);
    }

    /// <summary>
    /// Holds what writing <paramref name="bytes"/> of data under <paramref name="key"/> adds, until <see cref="Release"/>
    /// (after the store has applied it, so it is counted there). Throws <see cref="JobQuotaException"/> naming the bound
    /// that would be passed, holding nothing.
    /// </summary>
    public QuotaHold Reserve(JobKey key, long bytes)
    {
        var place = ReserveAppPlace(key);
        try
        {
            var usage = (store as IJobStoreUsage)?.Usage;
            return new QuotaHold(key, place, usage is null ? null : ReserveStoreQuota(usage, key, bytes));
        }
        catch
        {
            // A refusal here must give back the place the app's job count reserved.
            if (place) ownership.AppJobs.Release(key);
            throw;
        }
    }

    public void Release(QuotaHold hold)
    {
        if (hold.AppPlace) ownership.AppJobs.Release(hold.Key);
        if (hold.Store is { } r) _storeReservations.Release(r);
    }

    /// <summary>
    /// Checks the quotas counted from the store (every replica's jobs, so replicas agree): bytes of job data per app,
    /// jobs and bytes in all; and holds what this write adds.
    /// </summary>
    private StoreReservations.Reservation? ReserveStoreQuota(StoreUsage usage, JobKey key, long bytes)
    {
        var o = options;
        if (o.MaxJobDataBytesPerApp <= 0 && o.MaxJobs <= 0 && o.MaxJobDataBytesTotal <= 0) return null;
        var existing = usage.BytesOf(key);
        var added = new StoreReservations.Reservation(key, existing is null ? 1 : 0, Math.Max(0, bytes - (existing ?? 0)));
        var app = usage.App(key.Namespace, key.AppId);
        var heldApp = _storeReservations.App(key);
        var total = usage.Total;
        var heldTotal = _storeReservations.Total;
        var appBytes = app.Bytes + heldApp.Bytes;
        if (o.MaxJobDataBytesPerApp > 0 && added.Bytes > 0 && appBytes + added.Bytes > o.MaxJobDataBytesPerApp)
            throw new JobQuotaException($"app '{key.Namespace}||{key.AppId}' holds {appBytes} bytes of job data, {added.Bytes} more would pass the limit of {o.MaxJobDataBytesPerApp} bytes per app");
        var count = total.Count + heldTotal.Count;
        if (o.MaxJobs > 0 && added.Count > 0 && count + added.Count > o.MaxJobs)
            throw new JobQuotaException($"the scheduler holds {count} jobs, the limit of {o.MaxJobs} jobs in all");
        var totalBytes = total.Bytes + heldTotal.Bytes;
        if (o.MaxJobDataBytesTotal > 0 && added.Bytes > 0 && totalBytes + added.Bytes > o.MaxJobDataBytesTotal)
            throw new JobQuotaException($"the scheduler holds {totalBytes} bytes of job data, {added.Bytes} more would pass the limit of {o.MaxJobDataBytesTotal} bytes in all");
        _storeReservations.Add(added);
        return added;
    }

    /// <summary>
    /// Holds a place in the app's job quota for a new name until its write has been applied (the store tells the engine
    /// before the write completes). A name the app already holds needs no place. Throws <see cref="JobQuotaException"/>
    /// when the app is full. Counted from the store when it counts (every replica's jobs of the app), else from the jobs
    /// this engine holds.
    /// </summary>
    private bool ReserveAppPlace(JobKey key)
    {
        var max = options.MaxJobsPerApp;
        if (max <= 0) return false;
        var usage = (store as IJobStoreUsage)?.Usage;
        var counts = ownership.AppJobs;
        if (usage is not null ? usage.BytesOf(key) is not null : ownership.Contains(key)) return false;
        var held = usage is not null ? usage.App(key.Namespace, key.AppId).Count + counts.Reserved(key) : counts.Held(key);
        if (held >= max)
            throw new JobQuotaException($"app '{key.Namespace}||{key.AppId}' holds {held} jobs, the limit of {max} jobs per app");
        counts.Reserve(key);
        return true;
    }

    private static ulong NewPartitionId()
    {
        Span<byte> bytes = stackalloc byte[8];
        RandomNumberGenerator.Fill(bytes);
        return BitConverter.ToUInt64(bytes);
    }
}
