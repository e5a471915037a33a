using Google.Protobuf.WellKnownTypes;
using Platform.Hosting.Dapr;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;

namespace AppHost.Tests;

/// <summary>How the jobs view merges the replicas' answers: each job once, as its freshest answer has it.</summary>
public sealed class JobsViewMergeTests
{
    private static JobStatus Status(string name, long count, int lastTriggerSecond, bool live, bool staged = false)
    {
        var status = new JobStatus
        {
            Name = name,
            Metadata = new JobMetadata { AppId = "backupworker", Namespace = "default" },
            Job = new Job { Schedule = "@every 2s" },
            Count = (uint)count,
            Staged = staged,
            LastTrigger = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 1, 9, 0, lastTriggerSecond, TimeSpan.Zero)),
        };
        if (live) status.NextDue = Timestamp.FromDateTimeOffset(new DateTimeOffset(2026, 12, 1, 9, 1, 0, TimeSpan.Zero));
        return status;
    }

    [Fact]
    public void The_owning_replicas_live_progress_wins_over_the_stores_and_each_job_shows_once()
    {
        // Replica 0 runs "a" (live, one trigger ahead of the store); replica 1 runs "b", held for want of a sidecar.
        IReadOnlyList<JobStatus> replica0 = [Status("a", 5, 10, live: true), Status("b", 2, 4, live: false)];
        IReadOnlyList<JobStatus> replica1 = [Status("a", 4, 8, live: false), Status("b", 2, 4, live: true, staged: true)];
        IReadOnlyList<JobStatus> replica2 = [Status("a", 4, 8, live: false), Status("b", 2, 4, live: false)];

        foreach (var order in new[] { new[] { replica0, replica1, replica2 }, [replica2, replica1, replica0] })
        {
            var merged = SchedulerJobsView.Freshest(order).ToDictionary(s => s.Name);
            Assert.Equal(2, merged.Count);
            Assert.Equal(5u, merged["a"].Count);
            Assert.NotNull(merged["a"].NextDue);
            Assert.True(merged["b"].Staged, "the held trigger, known only to the replica that runs b, shows");
            Assert.NotNull(merged["b"].NextDue);
        }
    }

    [Fact]
    public void A_replica_that_did_not_answer_leaves_the_others_answers()
    {
        var merged = SchedulerJobsView.Freshest([[Status("a", 3, 6, live: false)]]).Single();
        Assert.Equal(3u, merged.Count);
    }
}
