using BackupWorker.Backups;
using BackupWorker.Schedules;
using Microsoft.Extensions.Logging.Abstractions;

namespace BackupWorker.Tests;

/// <summary>
/// Every create, create after the job vanished, and overwrite is a new schedule instance, and retention never reaches
/// past its own instance, database and location: the last restorable backup of every database survives.
/// </summary>
public class ScheduleInstanceTests
{
    private sealed class Subject : IDisposable
    {
        public EngineFixture Engine { get; } = new(o => o.Databases["other-db"] = new() { Provider = "sqlite", ConnectionString = "Data Source=databases/other-db.db" });
        public InMemoryJobsClient Jobs { get; } = new();
        public ScheduleService Service { get; }

        public Subject()
        {
            Engine.SeedDemoDatabase();
            Demo.DemoDatabase.Seed(Path.Combine(Engine.DataDirectory, "databases", "other-db.db"));
            Service = new ScheduleService(Jobs, Engine.Catalog, Engine.Runner, Engine.Time, NullLogger<ScheduleService>.Instance);
        }

        public async Task<BackupRun> RunAsync(string name)
        {
            var run = (await Service.RunNowAsync(name, CancellationToken.None))!;
            Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
            Engine.Time.Advance(TimeSpan.FromMinutes(1));
            return run;
        }

        public void Dispose()
        {
            Jobs.Dispose();
            Engine.Dispose();
        }
    }

    private static CreateScheduleRequest Nightly(string database, int keepLast, bool overwrite = false) =>
        new("nightly", database, "nightly", "@daily", Retention: new RetentionRequest(keepLast, null), Overwrite: overwrite);

    private static void AssertOnDisk(EngineFixture engine, params BackupRun[] runs)
    {
        foreach (var run in runs)
        {
            Assert.True(File.Exists(run.File), $"{run.Database} backup {run.Id} was deleted");
            Assert.Null(engine.Catalog.GetRun(run.Id)!.PrunedAt);
        }
    }

    [Fact]
    public async Task A_schedule_recreated_for_another_database_after_its_job_vanished_never_prunes_the_first_databases_backups()
    {
        using var s = new Subject();
        await s.Service.CreateAsync(Nightly("my-prod-db", keepLast: 5), CancellationToken.None);
        var first = new[] { await s.RunAsync("nightly"), await s.RunAsync("nightly") };
        // The job vanishes outside BackupApi (the dashboard's Delete, repeats done): the worker is not told.
        await s.Jobs.DeleteJobAsync("nightly");

        await s.Service.CreateAsync(Nightly("other-db", keepLast: 1), CancellationToken.None);
        var second = await s.RunAsync("nightly");

        AssertOnDisk(s.Engine, [.. first, second]);
        Assert.NotEqual(first[0].ScheduleInstance, second.ScheduleInstance);

        // Overwritten back to the first database: a new instance again, which prunes neither database's backups.
        await s.Service.CreateAsync(Nightly("my-prod-db", keepLast: 1, overwrite: true), CancellationToken.None);
        var third = await s.RunAsync("nightly");
        AssertOnDisk(s.Engine, [.. first, second, third]);
        Assert.Equal(3, new[] { first[0], second, third }.Select(r => r.ScheduleInstance).Distinct().Count());

        // Within one instance retention still works: the overwritten schedule's next run prunes only its own older one.
        var fourth = await s.RunAsync("nightly");
        Assert.False(File.Exists(third.File));
        AssertOnDisk(s.Engine, [.. first, second, fourth]);
    }

    [Fact]
    public async Task A_schedule_whose_job_is_gone_is_recorded_as_ended_and_governs_nothing()
    {
        using var s = new Subject();
        await s.Service.CreateAsync(Nightly("my-prod-db", keepLast: 1), CancellationToken.None);
        var before = await s.RunAsync("nightly");
        await s.Jobs.DeleteJobAsync("nightly");

        var listed = Assert.Single(await s.Service.ListAsync(CancellationToken.None));

        Assert.False(listed.Active);
        Assert.NotNull(listed.EndedAt);
        Assert.Contains("no longer exists", listed.EndedReason);
        Assert.Null(s.Engine.Catalog.GetSchedule("nightly")); // no live rules under that name
        var viewed = (await s.Service.GetAsync("nightly", includeRuns: false, CancellationToken.None))!;
        Assert.Equal(listed.EndedAt, viewed.EndedAt);

        // A trigger still arriving under the name (a job made elsewhere, say) backs up what it names and prunes nothing.
        var stray = await s.Engine.Runner.RunAsync("nightly", new BackupMetadata("my-prod-db", "nightly"), "job", CancellationToken.None);
        Assert.Equal(RunOutcome.Succeeded, stray.Outcome);
        Assert.Null(stray.ScheduleInstance);
        AssertOnDisk(s.Engine, before, stray);
    }

    [Fact]
    public async Task A_schedule_being_created_is_not_ended_by_a_listing_that_ran_before_its_job_existed()
    {
        using var s = new Subject();
        IReadOnlyList<ScheduleView>? during = null;
        // The listing runs inside the create's ScheduleJob call (its second call, after the look for an existing job):
        // the row exists, the job does not yet.
        s.Jobs.DuringNextCall = () =>
        {
            s.Jobs.DuringNextCall = async () => during = await s.Service.ListAsync(CancellationToken.None);
            return Task.CompletedTask;
        };

        await s.Service.CreateAsync(Nightly("my-prod-db", keepLast: 1), CancellationToken.None);

        Assert.NotNull(during);
        Assert.Null(Assert.Single(during).EndedAt);
        var live = s.Engine.Catalog.GetSchedule("nightly");
        Assert.NotNull(live);
        Assert.True(live.JobConfirmed);
    }

    [Fact]
    public async Task Every_write_of_a_schedule_row_without_an_instance_starts_a_new_one()
    {
        using var engine = new EngineFixture();
        var record = new ScheduleRecord("s", "my-prod-db", "s", "@daily", null, null, null, new RetentionRule(3, null), engine.Time.GetUtcNow());
        var first = engine.Catalog.UpsertSchedule(record).Instance;
        var second = engine.Catalog.UpsertSchedule(record with { Retention = new RetentionRule(1, null) }).Instance;
        Assert.NotEqual(first, second);
        Assert.Equal(second, engine.Catalog.GetSchedule("s")!.Instance);
        // Written back with its own instance (a refused create restoring the previous row), it keeps it.
        engine.Catalog.UpsertSchedule(record with { Instance = first });
        Assert.Equal(first, engine.Catalog.GetSchedule("s")!.Instance);
        await Task.CompletedTask;
    }

    [Fact]
    public async Task A_schedule_whose_job_vanished_is_recorded_as_ended_by_the_periodic_look_without_anyone_listing()
    {
        using var s = new Subject();
        await s.Service.CreateAsync(Nightly("my-prod-db", keepLast: 1), CancellationToken.None);
        var watcher = new ScheduleEndWatcher(s.Service, Microsoft.Extensions.Options.Options.Create(s.Engine.Options), s.Engine.Time,
            NullLogger<ScheduleEndWatcher>.Instance);
        await watcher.CheckAsync(CancellationToken.None);
        Assert.NotNull(s.Engine.Catalog.GetSchedule("nightly"));

        await s.Jobs.DeleteJobAsync("nightly"); // the dashboard's Delete, say: the worker is not told
        await watcher.CheckAsync(CancellationToken.None);

        Assert.Null(s.Engine.Catalog.GetSchedule("nightly"));
        Assert.NotNull(s.Engine.Catalog.GetScheduleForView("nightly")!.EndedAt);
    }
}
