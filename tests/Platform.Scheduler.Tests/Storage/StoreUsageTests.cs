using Platform.Scheduler.Limits;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// The usage count the quotas read, kept per app and name (issue 26, item 4: no second copy of every key): what it
/// answers per app, per job and in all, through puts, deletions, revisions and a reset.
/// </summary>
public sealed class StoreUsageTests
{
    private static JobKey Key(string name, string app = "a", string ns = "ns") => new(ns, app, name);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Counts_per_app_and_in_all_follow_puts_overwrites_and_deletions(bool revisions)
    {
        var usage = new StoreUsage(revisions);
        usage.Reset([(Key("1"), 10, 0), (Key("2"), 20, 0), (Key("1", app: "b"), 5, 0), (Key("1", ns: "other"), 1, 0)]);
        Assert.Equal((2, 30L), usage.App("ns", "a"));
        Assert.Equal((1, 5L), usage.App("ns", "b"));
        Assert.Equal((4, 36L), usage.Total);

        usage.Put(Key("2"), 7, 0);                         // overwrite: counted once, with its new size
        usage.Put(Key("3"), 3, 0);
        usage.Delete(Key("1", app: "b"), 0);
        usage.Delete(Key("missing"), 0);
        Assert.Equal((3, 20L), usage.App("ns", "a"));
        Assert.Equal((0, 0L), usage.App("ns", "b"));
        Assert.Equal((4, 21L), usage.Total);
        Assert.Equal(7, usage.BytesOf(Key("2")));
        Assert.Null(usage.BytesOf(Key("1", app: "b")));
        Assert.Null(usage.BytesOf(Key("missing")));

        usage.Reset([(Key("x", app: "c"), 2, 0)]);
        Assert.Equal((1, 2L), usage.Total);
        Assert.Equal((0, 0L), usage.App("ns", "a"));
        Assert.Null(usage.BytesOf(Key("2")));
    }

    [Fact]
    public void A_late_older_write_does_not_undo_a_newer_one_until_the_watch_has_passed_the_deletion()
    {
        var usage = new StoreUsage();
        usage.Put(Key("j"), 10, revision: 5);
        usage.Delete(Key("j"), revision: 8);
        usage.Put(Key("j"), 10, revision: 6);              // the echo of an older put arrives after the deletion
        Assert.Null(usage.BytesOf(Key("j")));
        Assert.Equal((0, 0L), usage.Total);

        usage.Passed(8);                                    // the marker goes; a newer put counts again
        usage.Put(Key("j"), 4, revision: 9);
        Assert.Equal(4, usage.BytesOf(Key("j")));
        Assert.Equal((1, 4L), usage.App("ns", "a"));
        usage.Put(Key("j"), 12, revision: 7);              // older than what is held: ignored
        Assert.Equal(4, usage.BytesOf(Key("j")));
    }

    [Fact]
    public void A_count_without_revisions_keeps_less_per_job_and_refuses_a_revision()
    {
        const int jobs = 100_000;
        var keys = Enumerable.Range(0, jobs).Select(i => (Key($"job-{i:D6}"), 8L)).ToArray();
        var plain = new StoreUsage(revisions: false);
        var revised = new StoreUsage(revisions: true);
        var plainBytes = Allocated(() => plain.AddRead(keys, jobs));
        var revisedBytes = Allocated(() => revised.AddRead(keys, jobs));
        // 24 bytes a job in the table rather than 32: the same counts for three quarters of the memory.
        Assert.Equal((jobs, 8L * jobs), plain.App("ns", "a"));
        Assert.Equal(revised.App("ns", "a"), plain.App("ns", "a"));
        Assert.InRange(plainBytes, 0.70 * revisedBytes, 0.80 * revisedBytes);

        Assert.Throws<ArgumentOutOfRangeException>(() => plain.Put(Key("j"), 1, revision: 3));
        Assert.Throws<ArgumentOutOfRangeException>(() => plain.Delete(Key("job-000001"), revision: 3));
        Assert.Equal(8, plain.BytesOf(Key("job-000001")));
        Assert.Throws<ArgumentException>(() => plain.ReplaceWith(revised));
        Assert.Equal((jobs, 8L * jobs), plain.Total);

        static long Allocated(Action action)
        {
            var before = GC.GetAllocatedBytesForCurrentThread();
            action();
            return GC.GetAllocatedBytesForCurrentThread() - before;
        }
    }
}
