namespace Platform.Scheduler.Storage;

// What the quotas count: every job in the file and its data's bytes.
public sealed partial class SqliteJobStore
{
    // The usage count is taken by the first load that reads every row (one pass over 1M rows rather than two), or by a
    // scan of its own when something asks for it first. Until then the writer commits under _usageGate and keeps what
    // it commits in _uncounted, so the count can add exactly the changes its read did not see.
    private readonly Limits.StoreUsage _usage = new(revisions: false);
    private readonly object _usageGate = new();
    private List<JobChange>? _uncounted;
    private volatile bool _usageCounted = true;
    private const int MaxUncounted = 10_000;

    /// <summary>Every job in the file and its data's bytes: what the quotas count.</summary>
    public Limits.StoreUsage Usage
    {
        get
        {
            if (!_usageCounted) CountUsage();
            return _usage;
        }
    }

    int Limits.IJobStoreUsage.StoredJobs => _usageCounted ? _usage.Total.Count : CountRows();

    /// <summary>Keeps the usage count in step with a committed change (under <see cref="_usageGate"/> until it is counted).</summary>
    private void CountChange(JobChange change)
    {
        if (!_usageCounted)
        {
            _uncounted!.Add(change);
            return;
        }
        switch (change)
        {
            case JobChange.Put put:
                _usage.Put(put.Job.Key, put.Job.Data?.Length ?? 0, 0);
                break;
            case JobChange.Deleted deleted:
                _usage.Delete(deleted.Key, 0);
                break;
            case JobChange.PrefixDeleted prefix:
                foreach (var name in prefix.Names) _usage.Delete(new JobKey(prefix.Namespace, prefix.AppId, name), 0);
                break;
        }
    }

    /// <summary>Counts every job with a read of its own, unless a load has counted them meanwhile.</summary>
    private void CountUsage()
    {
        // The writer commits under the gate until the count is taken: no commit falls between this read and the count.
        lock (_usageGate)
        {
            if (_usageCounted) return;
            using var reader = new SqliteRowReader(DatabasePath, SqliteRowReader.KeysSql);
            var keys = reader.ReadKeys();
            Counted(keys.Select(k => (k.Key, k.Bytes)), seenByTheRead: _uncounted!.Count, keys.Count);
        }
    }

    /// <summary>
    /// Takes <paramref name="jobs"/> (what one read found) as the usage count, then the changes committed after that
    /// read began (those after the first <paramref name="seenByTheRead"/> of <see cref="_uncounted"/>); under the gate.
    /// </summary>
    private void Counted(IEnumerable<(JobKey Key, long Bytes)> jobs, int seenByTheRead, int expectedJobs = 0)
    {
        _usage.Reset(jobs.Select(j => (j.Key, j.Bytes, 0L)), expectedJobs);
        var later = _uncounted!.Skip(seenByTheRead).ToList();
        _uncounted = null;
        _usageCounted = true;
        foreach (var change in later) CountChange(change);
    }

    /// <summary>As <see cref="Counted"/>, with the rows already counted by the read (see <see cref="Limits.StoreUsage.AddRead"/>).</summary>
    private void Counted(Limits.StoreUsage read, int seenByTheRead)
    {
        _usage.ReplaceWith(read);
        var later = _uncounted!.Skip(seenByTheRead).ToList();
        _uncounted = null;
        _usageCounted = true;
        foreach (var change in later) CountChange(change);
    }

    private int CountRows()
    {
        using var connection = OpenReadConnection();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM jobs";
        return (int)(long)command.ExecuteScalar()!;
    }
}
