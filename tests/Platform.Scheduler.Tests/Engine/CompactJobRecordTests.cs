using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Microsoft.Extensions.Logging.Abstractions;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;
using Platform.SchedulerProtocol.Common;

namespace Platform.Scheduler.Tests.Engine;

/// <summary>
/// The engine's per-job record stays small (issue 26, item 4: 1M jobs within 400 MiB): what few jobs carry is kept out
/// of line and jobs with the same failure policy share one, without changing what the record holds.
/// </summary>
public sealed class CompactJobRecordTests
{
    private static readonly JobKey Key = new("ns", "app", "job");

    [Fact]
    public void Jobs_with_the_same_failure_policy_share_one_and_keep_its_values()
    {
        using var queue = new TriggerQueue();
        var preparer = new JobPreparer(new JobOwnership(queue, null!, NullLogger.Instance, partition: null));
        var five = new JobFailurePolicy { Constant = new JobFailurePolicyConstant { Interval = Duration.FromTimeSpan(TimeSpan.FromSeconds(2)), MaxRetries = 5 } };
        var drop = new JobFailurePolicy { Drop = new JobFailurePolicyDrop() };
        RetryPolicy Prepared(string name, IMessage policy) => preparer.Prepare(Stored(name, policy.ToByteArray())).State.Policy;

        // Each row brings its own bytes: the records still share one policy per value.
        Assert.Same(Prepared("a", five), Prepared("b", five));
        Assert.Same(Prepared("c", drop), Prepared("d", drop));
        Assert.Same(DefaultRetryPolicy.Compact, Prepared("e", RetryPolicy.Default()));
        Assert.Equal(new RetryPolicy(false, 2 * TimeSpan.TicksPerSecond, 5), Prepared("f", five));
        Assert.Equal(new RetryPolicy(true, 0, 0), Prepared("g", drop));
        // A row whose policy cannot be read is set aside with the default, so nothing reading the record meets null.
        var damaged = preparer.Prepare(Stored("h", [0xFF]));
        Assert.NotNull(damaged.Error);
        Assert.Same(DefaultRetryPolicy.Compact, damaged.State.Policy);

        static StoredJob Stored(string name, byte[] policy) => new()
        {
            Key = new JobKey("ns", "app", name),
            PartitionId = 1,
            Schedule = "@every 1h",
            FailurePolicy = policy,
            Created = DateTimeOffset.UnixEpoch.UtcTicks,
        };
    }

    [Fact]
    public void A_job_without_trace_context_or_quarantine_is_at_most_168_bytes()
    {
        // Warm up the allocation path, then measure one record on this thread.
        _ = new JobState { Key = Key, TraceParent = null, TraceState = null };
        var before = GC.GetAllocatedBytesForCurrentThread();
        var state = new JobState { Key = Key, TraceParent = null, TraceState = null };
        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        GC.KeepAlive(state);
        Assert.InRange(allocated, 1, 168);
    }

    [Fact]
    public void Trace_context_quarantine_and_data_read_back_as_set_and_clear_again()
    {
        var state = new JobState { Key = Key, TraceParent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", TraceState = "k=v" };
        Assert.Equal(("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "k=v", (string?)null), (state.TraceParent, state.TraceState, state.Quarantine));
        state.Quarantine = "dispatch failed: x";
        Assert.Equal("dispatch failed: x", state.Quarantine);
        state.Quarantine = null;
        state.TraceState = null;
        Assert.Equal(("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", (string?)null, (string?)null), (state.TraceParent, state.TraceState, state.Quarantine));

        var plain = new JobState { Key = Key };
        plain.Quarantine = null;
        Assert.Null(plain.Quarantine);
        plain.Quarantine = "install failed: y";
        Assert.Equal(("install failed: y", (string?)null), (plain.Quarantine, plain.TraceParent));
        Assert.Null(plain.Data);
        plain.Data = [1, 2];
        Assert.Equal([1, 2], plain.Data);
        plain.Data = null;
        Assert.Null(plain.Data);
        Assert.Equal("install failed: y", plain.Quarantine);
    }

    [Fact]
    public void The_job_table_finds_replaces_and_forgets_states_by_key()
    {
        var table = new HashSet<JobState>(JobStateKeyComparer.Instance);
        var byKey = table.GetAlternateLookup<JobKey>();
        var first = new JobState { Key = Key };
        Assert.True(table.Add(first));
        Assert.False(table.Add(new JobState { Key = new JobKey("ns", "app", new string("job".AsSpan())) }));
        Assert.True(byKey.TryGetValue(new JobKey("ns", "app", "job"), out var found));
        Assert.Same(first, found);
        Assert.False(byKey.Contains(new JobKey("ns", "other", "job")));
        Assert.True(byKey.Remove(Key));
        Assert.Empty(table);
    }
}
