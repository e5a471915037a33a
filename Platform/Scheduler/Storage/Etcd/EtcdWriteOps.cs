using Etcdserverpb;
using Google.Protobuf;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>
/// How the etcd store writes each <see cref="WriteOp"/>: the keys and room it takes in a transaction, its requests, and
/// what its responses mean. A prefix delete is not among them (it reads first, see <c>DeletePrefixAsync</c>); a wake or
/// flush takes no room and only completes with the transaction it rides in.
/// </summary>
internal static class EtcdWriteOps
{
    /// <summary>The keys it writes, its number of top-level operations and an upper bound of its request bytes.</summary>
    public static (ByteString[] Keys, int Ops, int Bytes) Shape(WriteOp op, EtcdKeys keys)
    {
        switch (op)
        {
            case PutOp put:
            {
                var jobKey = keys.Job(put.Job.Key);
                var counterKey = keys.Counter(put.Job.Key);
                return ([jobKey, counterKey], 1, jobKey.Length * 2 + counterKey.Length + Value(put).Length + 64);
            }
            case DeleteOp delete:
            {
                var jobKey = keys.Job(delete.Key);
                var counterKey = keys.Counter(delete.Key);
                return ([jobKey, counterKey], 2, jobKey.Length + counterKey.Length + 32);
            }
            default:
                return ([], 0, 0);
        }
    }

    public static IEnumerable<RequestOp> Requests(WriteOp op, EtcdKeys keys) => op switch
    {
        PutOp put => PutRequests(put, keys),
        DeleteOp delete => DeleteRequests(delete.Key, keys),
        _ => [],
    };

    private static IEnumerable<RequestOp> PutRequests(PutOp put, EtcdKeys keys)
    {
        var job = put.Job;
        var jobKey = keys.Job(job.Key);
        // Put and reset of the progress in one nested transaction; without overwrite only if the key is absent.
        var txn = new TxnRequest
        {
            Success =
            {
                new RequestOp { RequestPut = new PutRequest { Key = jobKey, Value = Value(put) } },
                new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = keys.Counter(job.Key) } },
            },
        };
        if (!put.Overwrite)
        {
            txn.Compare.Add(new Compare { Key = jobKey, Target = Compare.Types.CompareTarget.Create, Result = Compare.Types.CompareResult.Equal, CreateRevision = 0 });
            // Read back on failure: after a transient error the first try may have landed, and its value is ours.
            txn.Failure.Add(new RequestOp { RequestRange = new RangeRequest { Key = jobKey } });
        }
        yield return new RequestOp { RequestTxn = txn };
    }

    private static IEnumerable<RequestOp> DeleteRequests(JobKey key, EtcdKeys keys)
    {
        yield return new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = keys.Job(key) } };
        yield return new RequestOp { RequestDeleteRange = new DeleteRangeRequest { Key = keys.Counter(key) } };
    }

    /// <summary>Records what the committed op did (its responses start at <paramref name="first"/>) and the change it makes.</summary>
    public static void Applied(WriteOp op, IList<ResponseOp> responses, int first, long revision, EtcdJobStore store, List<JobChange> changes)
    {
        switch (op)
        {
            case PutOp put:
            {
                var response = responses[first].ResponseTxn;
                if (!response.Succeeded)
                {
                    // Ours only if this very value (its random partition id) is what a previous try stored.
                    var existing = response.Responses.Count > 0 ? response.Responses[0].ResponseRange.Kvs.FirstOrDefault() : null;
                    if (existing is null || existing.Value != Value(put)) return;
                    revision = existing.ModRevision;
                }
                var job = put.Job;
                put.Stored = true;
                store.Usage.Put(job.Key, job.Data?.Length ?? 0, revision);
                job.Progress = JobProgress.Initial;
                job.Revision = revision;
                job.RowId = store.RowIds.Track(job.Key, job.PartitionId, revision);
                changes.Add(new JobChange.Put(job));
                break;
            }
            case DeleteOp delete:
                store.RowIds.Untrack(delete.Key);
                store.Usage.Delete(delete.Key, revision);
                changes.Add(new JobChange.Deleted(delete.Key, revision));
                break;
        }
    }

    /// <summary>The job's stored value, encoded once however often its batch is tried.</summary>
    private static ByteString Value(PutOp put) => (ByteString)(put.Encoded ??= EtcdKeys.Encode(put.Job));
}
