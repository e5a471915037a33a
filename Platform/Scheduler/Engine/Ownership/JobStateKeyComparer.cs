using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Engine;

/// <summary>
/// Owned jobs compared by their key, and looked up by a key alone: the job table is a set of states rather than a
/// dictionary from key to state, which would hold every 24-byte key a second time (1M jobs: 40 rather than 16 bytes
/// an entry).
/// </summary>
internal sealed class JobStateKeyComparer : IEqualityComparer<JobState>, IAlternateEqualityComparer<JobKey, JobState>
{
    public static readonly JobStateKeyComparer Instance = new();

    public bool Equals(JobState? x, JobState? y) => ReferenceEquals(x, y) || (x is not null && y is not null && x.Key == y.Key);

    public int GetHashCode(JobState state) => state.Key.GetHashCode();

    public bool Equals(JobKey alternate, JobState other) => alternate == other.Key;

    public int GetHashCode(JobKey alternate) => alternate.GetHashCode();

    /// <summary>Never called: states are added whole, only looked up and removed by key.</summary>
    public JobState Create(JobKey alternate) => throw new NotSupportedException("A job state is never made from its key alone.");
}
