using System.Collections.Concurrent;
using Platform.Scheduler.Storage;
using Platform.Scheduler.Storage.Etcd;
using Platform.Scheduler.Tests.Engine;
using TestSupport;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// Every change to the jobs reaches the engine exactly once, whichever replica wrote it and in whichever order the watch
/// and the write's own commit report it. A change never heard of is a trigger never fired (a backup not taken); one
/// heard of twice can bring back a one-shot job that already fired and finished, and fire it again.
/// </summary>
[Collection(EtcdStorageCollection.Name)]
public sealed class EtcdChangeFeedTests(EtcdClusterFixture etcd)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(30);
    private readonly string _prefix = "feed-" + Guid.NewGuid().ToString("N")[..8];

    private static StoredJob Job(string name) => new()
    {
        Key = new JobKey("ns", "app", name), PartitionId = 7, DueTime = "1h", Repeats = 1, FailurePolicy = [], Created = 1,
    };

    [EtcdFact]
    public async Task Another_replicas_write_reaches_the_engine_even_when_this_replicas_own_transaction_wrote_nothing()
    {
        await using var writer = new EtcdJobStore(etcd.Cluster.StoreOptions(_prefix));
        await writer.OpenAsync();
        var heard = new ConcurrentQueue<string>();
        await using var owner = new EtcdJobStore(etcd.Cluster.StoreOptions(_prefix));
        owner.SetChangeListener(c => { if (c is JobChange.Put p) heard.Enqueue(p.Job.Key.Name); });
        await owner.OpenAsync();
        var watchHeld = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        owner.BeforeWatchReport = () => watchHeld.Task.WaitAsync(Bound);

        // Another replica stores a job this replica owns; before this replica's watch reports it, this replica deletes a
        // job that is not there: a transaction that wrote nothing, answered with the other replica's revision.
        Assert.True(await writer.PutAsync(Job("backup-nightly"), overwrite: false));
        await owner.DeleteAsync(new JobKey("ns", "app", "not-there"));
        watchHeld.SetResult();

        // A later write, heard of in order after the first, bounds the wait.
        Assert.True(await writer.PutAsync(Job("later"), overwrite: false));
        await Poll.UntilAsync(() => Task.FromResult(heard.Contains("later")), Bound, "the later job reaching the owner");
        Assert.Contains("backup-nightly", heard);
    }

    [EtcdFact]
    public async Task An_own_write_the_watch_reported_first_is_not_reported_again_by_its_commit()
    {
        await using var store = new EtcdJobStore(etcd.Cluster.StoreOptions(_prefix));
        var puts = new ConcurrentQueue<string>();
        var heardFromWatch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        store.SetChangeListener(c =>
        {
            if (c is not JobChange.Put p) return;
            puts.Enqueue(p.Job.Key.Name);
            heardFromWatch.TrySetResult();
        });
        await store.OpenAsync();
        // The commit's own report waits until the watch has reported the write: the order a busy replica sees.
        store.BeforeOwnReport = () => heardFromWatch.Task.WaitAsync(Bound);

        Assert.True(await store.PutAsync(Job("one-shot"), overwrite: false));

        Assert.Equal(["one-shot"], puts);
    }

    [Fact]
    public void Only_a_transaction_that_put_or_removed_a_key_created_a_revision()
    {
        static Etcdserverpb.ResponseOp Nested(params Etcdserverpb.ResponseOp[] inner)
        {
            var txn = new Etcdserverpb.TxnResponse();
            txn.Responses.Add(inner);
            return new Etcdserverpb.ResponseOp { ResponseTxn = txn };
        }
        var put = new Etcdserverpb.ResponseOp { ResponsePut = new Etcdserverpb.PutResponse() };
        var deletedNothing = new Etcdserverpb.ResponseOp { ResponseDeleteRange = new Etcdserverpb.DeleteRangeResponse { Deleted = 0 } };
        var deletedOne = new Etcdserverpb.ResponseOp { ResponseDeleteRange = new Etcdserverpb.DeleteRangeResponse { Deleted = 1 } };
        var read = new Etcdserverpb.ResponseOp { ResponseRange = new Etcdserverpb.RangeResponse() };

        Assert.False(EtcdWrites.Wrote([]));
        Assert.False(EtcdWrites.Wrote([deletedNothing, read, Nested(read), Nested(deletedNothing)]));
        Assert.True(EtcdWrites.Wrote([deletedNothing, Nested(Nested(put))]));
        Assert.True(EtcdWrites.Wrote([read, deletedOne]));
    }
}
