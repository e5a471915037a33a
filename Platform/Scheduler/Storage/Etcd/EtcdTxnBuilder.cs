using Etcdserverpb;
using Google.Protobuf;

namespace Platform.Scheduler.Storage.Etcd;

/// <summary>One etcd transaction being built: its operations, the keys they name and what to do with each response.</summary>
internal sealed class EtcdTxnBuilder(EtcdStoreOptions options)
{
    private readonly TxnRequest _request = new();
    private readonly HashSet<ByteString> _keys = [];
    private readonly List<Action> _afterNothing = [];
    private int _bytes;

    /// <summary>
    /// etcd allows a nested transaction only as many operations as the limit leaves after its parent's count, so the
    /// top level keeps room for the largest nested one (two operations).
    /// </summary>
    private const int NestedOps = 2;

    public bool Fits(IReadOnlyList<ByteString> keys, int ops, int bytes) =>
        _request.Success.Count == 0
        || (_request.Success.Count + ops <= options.MaxTxnOps - NestedOps && _bytes + bytes <= options.MaxTxnBytes && !keys.Any(_keys.Contains));

    public void Add(WriteOp op, IReadOnlyList<ByteString> keys, int ops, int bytes, EtcdKeys layout, Action committed)
    {
        foreach (var k in keys) _keys.Add(k);
        _bytes += bytes;
        foreach (var request in EtcdWriteOps.Requests(op, layout)) _request.Success.Add(request);
        _pendingOps.Add((op, _request.Success.Count - ops, committed));
    }

    private readonly List<(WriteOp Op, int First, Action Committed)> _pendingOps = [];

    public void AddQueued(RequestOp request, IReadOnlyList<ByteString> keys, int bytes, Action<ResponseOp, long> committed)
    {
        foreach (var k in keys) _keys.Add(k);
        _bytes += bytes;
        _request.Success.Add(request);
        _queued.Add((_request.Success.Count - 1, committed));
    }

    private readonly List<(int Index, Action<ResponseOp, long> Committed)> _queued = [];

    public void AddNothing(Action committed) => _afterNothing.Add(committed);

    public async Task CommitAsync(EtcdJobStore store)
    {
        if (_request.Success.Count > 0)
        {
            var response = await store.Kv.TxnAsync(_request, deadline: store.Deadline).ResponseAsync;
            var revision = response.Header.Revision;
            var changes = new List<JobChange>();
            foreach (var (op, first, _) in _pendingOps) EtcdWriteOps.Applied(op, response.Responses, first, revision, store, changes);
            // The engine hears of a write before its caller does (it holds quota places until then).
            await store.NotifyOwnAsync(changes, EtcdWrites.Wrote(response.Responses) ? [revision] : []);
            foreach (var (op, _, committed) in _pendingOps)
            {
                committed();
                op.Done.TrySetResult();
            }
            foreach (var (index, committed) in _queued) committed(response.Responses[index], revision);
        }
        else
        {
            foreach (var (op, _, committed) in _pendingOps)
            {
                committed();
                op.Done.TrySetResult();
            }
        }
        foreach (var committed in _afterNothing) committed();
    }
}
