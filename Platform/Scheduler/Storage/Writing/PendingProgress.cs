namespace Platform.Scheduler.Storage;

/// <summary>
/// Progress and completions on their way from the engine to a store's writer: coalesced per job (the newest progress
/// wins, a completion drops the job's queued progress), taken by the writer in one swap per commit, and put back when
/// that commit fails so nothing is lost.
/// </summary>
internal sealed class PendingProgress
{
    private readonly object _gate = new();
    private Dictionary<long, ProgressUpdate> _progress = [];
    private List<(long RowId, ulong PartitionId)> _completions = [];

    /// <summary>Queues the job's progress; true when the queue was empty, so the writer needs waking.</summary>
    public bool Add(in ProgressUpdate update)
    {
        lock (_gate)
        {
            var wake = IsEmpty;
            _progress[update.RowId] = update;
            return wake;
        }
    }

    /// <summary>Queues the job's completion in place of its progress; true when the writer needs waking.</summary>
    public bool Complete(long rowId, ulong partitionId)
    {
        lock (_gate)
        {
            var wake = IsEmpty;
            _progress.Remove(rowId);
            _completions.Add((rowId, partitionId));
            return wake;
        }
    }

    /// <summary>Everything queued so far; the queue starts again empty.</summary>
    public (Dictionary<long, ProgressUpdate> Progress, List<(long RowId, ulong PartitionId)> Completions) Take()
    {
        lock (_gate)
        {
            var taken = (_progress, _completions);
            _progress = new Dictionary<long, ProgressUpdate>(_progress.Count == 0 ? 0 : 1024);
            _completions = [];
            return taken;
        }
    }

    /// <summary>Puts back what a failed commit did not write, unless newer progress of the job was queued meanwhile.</summary>
    public void PutBack(IEnumerable<ProgressUpdate> progress, IEnumerable<(long RowId, ulong PartitionId)> completions)
    {
        lock (_gate)
        {
            foreach (var p in progress) _progress.TryAdd(p.RowId, p);
            _completions.AddRange(completions);
        }
    }

    private bool IsEmpty => _progress.Count == 0 && _completions.Count == 0;
}
