namespace Platform.Scheduler.Storage;

/// <summary>
/// A store that can leave each job's data out of the start-up load and read it back when a trigger is sent, so the
/// engine does not hold every payload in memory (1M jobs' data is over 100 MB). The data read is always the stored data
/// of the definition being fired: a row is asked for by its row id and partition id, which an overwrite changes.
/// </summary>
public interface IDeferredJobData
{
    /// <summary>As <see cref="IJobStore.LoadAsync"/>, but a job's data is left in the store: <see cref="StoredJob.Data"/>
    /// is null and <see cref="StoredJob.DataInStore"/> says whether the row holds data to read back.</summary>
    IAsyncEnumerable<StoredJob> LoadWithoutDataAsync(Func<ulong, bool> owns, CancellationToken cancellationToken = default);

    /// <summary>
    /// The data of the definition stored at <paramref name="rowId"/> with <paramref name="partitionId"/>; false when the
    /// row no longer holds that definition (it was overwritten or deleted since). Safe to call from any thread.
    /// Throws <see cref="InvalidDataException"/> when the row's data is not a blob, as the load would have.
    /// </summary>
    bool TryReadData(long rowId, ulong partitionId, out byte[]? data);
}
