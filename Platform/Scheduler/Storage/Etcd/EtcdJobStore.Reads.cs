using System.Runtime.CompilerServices;
using Etcdserverpb;
using Google.Protobuf;

namespace Platform.Scheduler.Storage.Etcd;

// The reads: linearizable, so a read sees every write that completed before it.
public sealed partial class EtcdJobStore
{
    public override async Task<StoredJob?> GetAsync(JobKey key, CancellationToken cancellationToken = default)
    {
        var response = await ReadAsync(() => Kv.TxnAsync(new TxnRequest
        {
            Success =
            {
                new RequestOp { RequestRange = new RangeRequest { Key = _keys.Job(key) } },
                new RequestOp { RequestRange = new RangeRequest { Key = _keys.Counter(key) } },
            },
        }, deadline: Deadline, cancellationToken: cancellationToken).ResponseAsync, cancellationToken);
        var job = response.Responses[0].ResponseRange.Kvs.FirstOrDefault();
        if (job is null) return null;
        return Materialize(job, response.Responses[1].ResponseRange.Kvs.FirstOrDefault());
    }

    public override async Task<IReadOnlyList<StoredJob>> ListAsync(string @namespace, string appId, CancellationToken cancellationToken = default)
    {
        var jobs = await ReadRangeAsync(_keys.AppJobs(@namespace, appId), cancellationToken);
        return [.. jobs.Where(j => j.Key.Namespace == @namespace && j.Key.AppId == appId).OrderBy(j => j.Key.Name, StringComparer.Ordinal)];
    }

    public override async Task<IReadOnlyList<StoredJob>> ListAllAsync(string? @namespace, string? appId, CancellationToken cancellationToken = default)
    {
        var prefix = string.IsNullOrEmpty(@namespace) ? _keys.Jobs
            : string.IsNullOrEmpty(appId) ? _keys.Jobs + "app||" + @namespace + "||"
            : _keys.AppJobs(@namespace, appId);
        var jobs = await ReadRangeAsync(prefix, cancellationToken);
        return
        [
            .. jobs.Where(j => (string.IsNullOrEmpty(@namespace) || j.Key.Namespace == @namespace) && (string.IsNullOrEmpty(appId) || j.Key.AppId == appId))
                .OrderBy(j => j.Key.Namespace, StringComparer.Ordinal).ThenBy(j => j.Key.AppId, StringComparer.Ordinal).ThenBy(j => j.Key.Name, StringComparer.Ordinal),
        ];
    }

    /// <summary>Every owned job at one revision; changes are held back meanwhile and those the read reflects are skipped.</summary>
    public override async IAsyncEnumerable<StoredJob> LoadAsync(Func<ulong, bool> owns, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        await _feed.WaitAsync(cancellationToken);
        try
        {
            var (jobs, revision) = await ReadAsync(() => ReadRangeOnceAsync(_keys.Jobs, cancellationToken), cancellationToken);
            // The read saw the whole store at one revision: what the quotas count starts again from it (the watch mends
            // what was written after it).
            Usage.Reset(jobs.Select(j => (j.Key, (long)(j.Data?.Length ?? 0), j.Revision)));
            foreach (var job in jobs)
                if (owns(job.PartitionId)) yield return job;
            _feedFloor = Math.Max(_feedFloor, revision);
        }
        finally
        {
            _feed.Release();
        }
    }

    /// <summary>Every job under the key prefix with its progress, read page by page at one revision.</summary>
    private async Task<List<StoredJob>> ReadRangeAsync(string jobPrefix, CancellationToken cancellationToken) =>
        (await ReadAsync(() => ReadRangeOnceAsync(jobPrefix, cancellationToken), cancellationToken)).Jobs;

    private async Task<(List<StoredJob> Jobs, long Revision)> ReadRangeOnceAsync(string jobPrefix, CancellationToken cancellationToken)
    {
        var jobsKey = ByteString.CopyFromUtf8(jobPrefix);
        var countersKey = ByteString.CopyFromUtf8(_keys.Counters + jobPrefix[_keys.Jobs.Length..]);
        var counters = new Dictionary<string, Mvccpb.KeyValue>(StringComparer.Ordinal);
        var revision = 0L;
        await foreach (var (kv, rev) in RangePagesAsync(countersKey, revision, cancellationToken))
        {
            revision = rev;
            counters[kv.Key.ToStringUtf8()[_keys.Counters.Length..]] = kv;
        }
        var jobs = new List<StoredJob>();
        await foreach (var (kv, rev) in RangePagesAsync(jobsKey, revision, cancellationToken))
        {
            revision = rev;
            counters.TryGetValue(kv.Key.ToStringUtf8()[_keys.Jobs.Length..], out var counter);
            jobs.Add(Materialize(kv, counter));
        }
        if (revision == 0) revision = (await QuorumReadAsync(cancellationToken)).Header.Revision;
        return (jobs, revision);
    }

    private const int PageSize = 1000;

    private async IAsyncEnumerable<(Mvccpb.KeyValue Kv, long Revision)> RangePagesAsync(ByteString prefix, long revision,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var end = EtcdKeys.RangeEnd(prefix);
        var from = prefix;
        while (true)
        {
            var page = await Kv.RangeAsync(new RangeRequest { Key = from, RangeEnd = end, Limit = PageSize, Revision = revision },
                deadline: Deadline, cancellationToken: cancellationToken).ResponseAsync;
            if (revision == 0) revision = page.Header.Revision;
            foreach (var kv in page.Kvs) yield return (kv, revision);
            if (!page.More || page.Kvs.Count == 0) yield break;
            // The next page starts just after the last key read.
            from = ByteString.CopyFrom([.. page.Kvs[^1].Key.Span, 0]);
        }
    }

    private StoredJob Materialize(Mvccpb.KeyValue job, Mvccpb.KeyValue? counter)
    {
        var stored = _keys.Decode(job, counter);
        stored.Revision = job.ModRevision;
        stored.RowId = _rowIds.Track(stored.Key, stored.PartitionId, job.ModRevision);
        return stored;
    }
}
