using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Schedules;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Platform.Jobs.Models;
using Platform.Jobs.Models.Responses;

namespace BackupWorker.Tests;

/// <summary>The worker's schedule service against an in-memory sidecar: what its catalog holds after a refusal.</summary>
public class ScheduleServiceTests
{
    private sealed class Subject : IDisposable
    {
        public EngineFixture Engine { get; } = new();
        public InMemoryJobsClient Jobs { get; } = new();
        public ScheduleService Service { get; }

        public Subject(BackupOptions? options = null)
        {
            Engine.SeedDemoDatabase();
            Service = new ScheduleService(Jobs, Engine.Catalog, Engine.Runner, Engine.Time, NullLogger<ScheduleService>.Instance,
                options is null ? null : Options.Create(options));
        }

        public void Dispose()
        {
            Jobs.Dispose();
            Engine.Dispose();
        }
    }

    private static CreateScheduleRequest Nightly(string location, int keepLast, string schedule = "@daily") =>
        new("nightly", "my-prod-db", location, schedule, Retention: new RetentionRequest(keepLast, null));

    [Fact]
    public async Task Refused_create_of_an_existing_schedule_leaves_its_catalog_row_and_job_unchanged()
    {
        using var s = new Subject();
        await s.Service.CreateAsync(Nightly("nightly", keepLast: 3), CancellationToken.None);
        var before = s.Engine.Catalog.GetSchedule("nightly");
        s.Engine.Time.Advance(TimeSpan.FromMinutes(5));

        var refused = await Assert.ThrowsAsync<ScheduleProblemException>(() =>
            s.Service.CreateAsync(Nightly("elsewhere", keepLast: 1, schedule: "@hourly"), CancellationToken.None));

        Assert.Equal((409, "Schedule already exists"), (refused.Status, refused.Title));
        Assert.Contains("already exists", refused.Message);
        Assert.NotNull(before);
        Assert.Equal(before, s.Engine.Catalog.GetSchedule("nightly"));
        Assert.Equal(["nightly"], s.Engine.Catalog.ListSchedules().Select(r => r.Name));
        var job = s.Jobs["nightly"]!;
        Assert.Equal("@daily", job.ScheduleExpression);
        Assert.True(BackupPayload.TryParse(job.Payload!, out var payload, out _));
        Assert.Equal(new BackupMetadata("my-prod-db", "nightly"), payload!.Metadata);
    }

    [Fact]
    public async Task Refused_create_over_a_job_scheduled_elsewhere_leaves_no_catalog_row()
    {
        using var s = new Subject();
        await s.Jobs.ScheduleJobAsync("nightly", DaprJobSchedule.FromExpression("@daily"), BackupPayload.ForDatabase("my-prod-db", "theirs").ToUtf8Json());

        var refused = await Assert.ThrowsAsync<ScheduleProblemException>(() =>
            s.Service.CreateAsync(Nightly("mine", keepLast: 1), CancellationToken.None));

        Assert.Equal(409, refused.Status);
        Assert.Null(s.Engine.Catalog.GetSchedule("nightly"));
        Assert.Empty(s.Engine.Catalog.ListSchedules());
    }

    [Fact]
    public async Task A_trigger_arriving_while_a_create_is_refused_prunes_by_the_existing_rule()
    {
        using var s = new Subject();
        await s.Service.CreateAsync(Nightly("nightly", keepLast: 3), CancellationToken.None);
        var target = new BackupMetadata("my-prod-db", "nightly");
        var made = new List<BackupRun>();
        for (var i = 0; i < 3; i++)
        {
            made.Add(await s.Engine.Runner.RunAsync("nightly", target, "job", CancellationToken.None));
            s.Engine.Time.Advance(TimeSpan.FromMinutes(1));
        }

        // The job's next trigger lands while the worker is talking to its sidecar about a request it will refuse.
        BackupRun? during = null;
        s.Jobs.DuringNextCall = async () => during = await s.Engine.Runner.RunAsync("nightly", target, "job", CancellationToken.None);
        var refused = await Assert.ThrowsAsync<ScheduleProblemException>(() =>
            s.Service.CreateAsync(Nightly("nightly", keepLast: 1), CancellationToken.None));

        Assert.Equal(409, refused.Status);
        Assert.NotNull(during);
        Assert.Equal(RunOutcome.Succeeded, during.Outcome);
        // keepLast 3 (the schedule's), not 1 (the refused request's): only the oldest went.
        Assert.Equal([during.Id, made[2].Id, made[1].Id], s.Engine.Catalog.ListBackups("nightly").Select(b => b.Id));
        Assert.False(File.Exists(made[0].File));
        Assert.All(made.Skip(1), r => Assert.True(File.Exists(r.File)));
    }

    [Fact]
    public async Task A_created_job_retries_a_failed_trigger_every_5_s_for_10_minutes_and_shows_it()
    {
        using var s = new Subject();
        var view = await s.Service.CreateAsync(Nightly("nightly", keepLast: 3), CancellationToken.None);

        // Dapr's default (1 s, 3 retries) would give a tick up before a restarted worker is back.
        Assert.Equal(new ConfiguredConstantFailurePolicy(true, 120, TimeSpan.FromSeconds(5)), s.Jobs["nightly"]!.FailurePolicy);
        Assert.Equal("constant every 5s, at most 120 retries", view.Job!.FailurePolicy);
    }

    [Fact]
    public async Task A_job_with_one_tick_is_retried_for_an_hour()
    {
        using var s = new Subject();
        await s.Service.CreateAsync(new CreateScheduleRequest("once", "my-prod-db", "once", null, DueTime: "10m"), CancellationToken.None);
        await s.Service.CreateAsync(new CreateScheduleRequest("single", "my-prod-db", "single", "@hourly", Repeats: 1), CancellationToken.None);

        Assert.Equal(new ConfiguredConstantFailurePolicy(true, 720, TimeSpan.FromSeconds(5)), s.Jobs["once"]!.FailurePolicy);
        Assert.Equal(new ConfiguredConstantFailurePolicy(true, 720, TimeSpan.FromSeconds(5)), s.Jobs["single"]!.FailurePolicy);
    }

    [Fact]
    public async Task The_retry_policy_follows_the_configuration_and_a_zero_window_is_drop()
    {
        using (var s = new Subject(new BackupOptions { TriggerRetryInterval = TimeSpan.FromSeconds(2), TriggerRetryFor = TimeSpan.FromSeconds(61) }))
        {
            await s.Service.CreateAsync(Nightly("nightly", keepLast: 3), CancellationToken.None);
            Assert.Equal(new ConfiguredConstantFailurePolicy(true, 31, TimeSpan.FromSeconds(2)), s.Jobs["nightly"]!.FailurePolicy);
        }
        using (var s = new Subject(new BackupOptions { TriggerRetryFor = TimeSpan.Zero }))
        {
            var view = await s.Service.CreateAsync(Nightly("nightly", keepLast: 3), CancellationToken.None);
            Assert.IsType<ConfiguredDropFailurePolicy>(s.Jobs["nightly"]!.FailurePolicy);
            Assert.Equal("drop", view.Job!.FailurePolicy);
        }
    }
}
