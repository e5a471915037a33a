using Etcdserverpb;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>What a committed transaction changed, read from its responses.</summary>
internal static class EtcdWrites
{
    /// <summary>
    /// True when the transaction created a revision: a put, or a delete that removed a key, at any nesting depth. A
    /// transaction that wrote nothing (a guard that failed, a delete of a missing key) leaves the revision where it was.
    /// </summary>
    public static bool Wrote(IEnumerable<ResponseOp> responses)
    {
        foreach (var r in responses)
        {
            switch (r.ResponseCase)
            {
                case ResponseOp.ResponseOneofCase.ResponsePut:
                    return true;
                case ResponseOp.ResponseOneofCase.ResponseDeleteRange when r.ResponseDeleteRange.Deleted > 0:
                    return true;
                case ResponseOp.ResponseOneofCase.ResponseTxn when Wrote(r.ResponseTxn.Responses):
                    return true;
            }
        }
        return false;
    }
}
