namespace Platform.Scheduler.Limits;

/// <summary>A job store that counts what it holds (<see cref="StoreUsage"/>), for quotas every replica agrees on.</summary>
public interface IJobStoreUsage
{
    StoreUsage Usage { get; }

    /// <summary>How many jobs the store holds, to size tables by; a store may answer it without counting its usage.</summary>
    int StoredJobs => Usage.Total.Count;
}
