using Etcdserverpb;
using Google.Protobuf;

namespace Platform.Hosting.Dapr.EtcdImport;

/// <summary>
/// The scheduler's lasting keys, as its etcd store lays them out: each job under <c>dapr/jobs/…</c> and its progress under
/// <c>dapr/counters/…</c> with the same suffix. Leadership keys (<c>dapr/leadership/…</c>) are not among them: they
/// belong to one run's replicas and their leases. Values are carried byte for byte; the scheduler checks every record it
/// reads as it checks any other (a forged one is quarantined), so an imported key is trusted no more than one written.
/// </summary>
internal static class SchedulerKeyCopy
{
    public const string Prefix = "dapr/";
    public const string Jobs = Prefix + "jobs/";
    public const string Counters = Prefix + "counters/";
    /// <summary>Written last, in the locked cluster, once every key of the open directory is in: the import is then never done again.</summary>
    public const string Imports = Prefix + "imports/";

    private const int PageSize = 500;

    /// <summary>A job with its progress, if it has any (a counter without its job is left behind, as the scheduler ignores it).</summary>
    public sealed record Entry(ByteString JobKey, ByteString JobValue, ByteString? CounterValue);

    /// <summary>Every job and its counter, at one revision, read linearizably (so with a quorum) page by page.</summary>
    public static async Task<IReadOnlyList<Entry>> ReadAsync(KV.KVClient kv, CancellationToken cancellationToken)
    {
        long revision = 0;
        var jobs = new List<Mvccpb.KeyValue>();
        var counters = new Dictionary<string, ByteString>(StringComparer.Ordinal);
        foreach (var (prefix, into) in new (string, Action<Mvccpb.KeyValue>)[]
        {
            (Jobs, jobs.Add),
            (Counters, kv => counters[kv.Key.ToStringUtf8()[Counters.Length..]] = kv.Value),
        })
        {
            var from = ByteString.CopyFromUtf8(prefix);
            var end = RangeEnd(from);
            while (true)
            {
                var page = await kv.RangeAsync(new RangeRequest { Key = from, RangeEnd = end, Limit = PageSize, Revision = revision },
                    deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
                if (revision == 0) revision = page.Header.Revision;
                foreach (var item in page.Kvs) into(item);
                if (!page.More || page.Kvs.Count == 0) break;
                from = ByteString.CopyFrom([.. page.Kvs[^1].Key.Span, 0]);
            }
        }
        return [.. jobs.Select(j => new Entry(j.Key, j.Value, counters.GetValueOrDefault(j.Key.ToStringUtf8()[Jobs.Length..])))];
    }

    /// <summary>
    /// Puts each job (with its counter) that the cluster does not hold yet, one transaction per job, then the marker
    /// <paramref name="marker"/>. Nothing is done when the marker is there already: a job deleted since stays deleted. A
    /// run cut short is done again from the start and adds only what is missing, so every job ends up there once, and
    /// a job the locked cluster holds already (written since) is never overwritten. Returns how many jobs were put.
    /// </summary>
    public static async Task<int?> ImportAsync(KV.KVClient kv, IReadOnlyList<Entry> entries, string marker, Func<int, Task>? afterEach,
        CancellationToken cancellationToken)
    {
        var markerKey = ByteString.CopyFromUtf8(Imports + marker);
        var done = await kv.RangeAsync(new RangeRequest { Key = markerKey, CountOnly = true }, deadline: DateTime.UtcNow.AddSeconds(10),
            cancellationToken: cancellationToken);
        if (done.Count > 0) return null;

        var put = 0;
        foreach (var entry in entries)
        {
            var txn = new TxnRequest();
            txn.Compare.Add(new Compare
            {
                Key = entry.JobKey,
                Target = Compare.Types.CompareTarget.Create,
                Result = Compare.Types.CompareResult.Equal,
                CreateRevision = 0,
            });
            txn.Success.Add(new RequestOp { RequestPut = new PutRequest { Key = entry.JobKey, Value = entry.JobValue } });
            if (entry.CounterValue is { } counter)
                txn.Success.Add(new RequestOp
                {
                    RequestPut = new PutRequest { Key = ByteString.CopyFromUtf8(Counters + entry.JobKey.ToStringUtf8()[Jobs.Length..]), Value = counter },
                });
            var response = await kv.TxnAsync(txn, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
            if (response.Succeeded) put++;
            if (afterEach is not null) await afterEach(put);
        }
        await kv.PutAsync(new PutRequest
        {
            Key = markerKey,
            Value = ByteString.CopyFromUtf8($"{entries.Count} jobs read, imported {DateTime.UtcNow:O}"),
        }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: cancellationToken);
        return put;
    }

    /// <summary>The end of a prefix range: the prefix with its last byte incremented.</summary>
    private static ByteString RangeEnd(ByteString prefix)
    {
        var bytes = prefix.ToByteArray();
        bytes[^1]++;
        return ByteString.CopyFrom(bytes);
    }
}
