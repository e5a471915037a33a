namespace Platform.Scheduler.Storage;

/// <summary>
/// A store whose load several threads can read at once, each a part of the rows: reading the rows, not installing
/// them, is what a load of 1M jobs spends its time on.
/// </summary>
internal interface IPartedLoad
{
    /// <summary>
    /// As <see cref="IDeferredJobData.LoadWithoutDataAsync"/> (or <see cref="IJobStore.LoadAsync"/> with
    /// <paramref name="deferData"/> false), in up to <paramref name="parts"/> parts that together are one read of the
    /// store: each part to be enumerated by one thread, never two at once, and all of them disposed with the result.
    /// A part gives the same job instance for every row, refilled, rather than 1M jobs to be collected after the load:
    /// what is taken from a job must be taken before the next.
    /// <paramref name="expectedRows"/>, when known (0 when not), is how many rows the store holds.
    /// </summary>
    LoadParts LoadInParts(Func<ulong, bool> owns, int parts, bool deferData, int expectedRows, CancellationToken cancellationToken = default);
}
