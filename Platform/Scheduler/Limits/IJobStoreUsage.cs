namespace Platform.Scheduler.Limits;

/// <summary>A job store that counts what it holds (<see cref="StoreUsage"/>), for quotas every replica agrees on.</summary>
public interface IJobStoreUsage
{
    StoreUsage Usage { get; }
}
