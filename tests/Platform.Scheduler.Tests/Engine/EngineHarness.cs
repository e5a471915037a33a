using Microsoft.Extensions.Time.Testing;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Engine;

/// <summary>An engine over a real SQLite store in a temp dir, with a fake clock.</summary>
internal sealed class EngineHarness : IAsyncDisposable
{
    public static readonly DateTimeOffset Start = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);
    private readonly bool _ownsDir;

    private EngineHarness(string dir, FakeTimeProvider time, bool ownsDir, SchedulerEngineOptions? options)
    {
        Directory = dir;
        Time = time;
        _ownsDir = ownsDir;
        Store = new SqliteJobStore(dir);
        Engine = new SchedulerEngine(Store, time, options: options);
    }

    public string Directory { get; }
    public FakeTimeProvider Time { get; }
    public SqliteJobStore Store { get; }
    public SchedulerEngine Engine { get; }

    public static async Task<EngineHarness> StartAsync(string? dir = null, FakeTimeProvider? time = null, SchedulerEngineOptions? options = null)
    {
        var owns = dir is null;
        dir ??= System.IO.Directory.CreateTempSubdirectory("engine-test-").FullName;
        var h = new EngineHarness(dir, time ?? new FakeTimeProvider(Start), owns, options);
        await h.Engine.StartAsync();
        return h;
    }

    public static JobKey Key(string name, string app = "app1") => new("default", app, name);

    public Task ScheduleAsync(string name, string? schedule = null, uint? repeats = null, string? due = null, string? ttl = null,
        Platform.SchedulerProtocol.Common.JobFailurePolicy? policy = null, string app = "app1", bool overwrite = false,
        Google.Protobuf.WellKnownTypes.Any? data = null) =>
        Engine.ScheduleJobAsync(Key(name, app), new JobDefinition { Schedule = schedule, Repeats = repeats, DueTime = due, Ttl = ttl, FailurePolicy = policy, Data = data }, overwrite);

    /// <summary>
    /// Waits (bounded) until the dispatch loop has looked at the current fake time and gone idle. Advancing the clock
    /// only wakes the loop, which runs on its own task; without this a "nothing was sent" check runs before it looks.
    /// </summary>
    public Task IdleAsync() => Engine.WhenIdleAsync().WaitAsync(TimeSpan.FromSeconds(10));

    /// <summary>Asserts that nothing is waiting on the stream once the engine has handled everything due by now.</summary>
    public async Task AssertNothingPendingAsync(JobStream stream)
    {
        await IdleAsync();
        if (stream.Triggers.TryRead(out var t))
            Assert.Fail($"unexpected trigger {t.Key.Name} for {t.ScheduledTime:O}, attempt {t.Attempt}, sent at fake time {Time.GetUtcNow():O}");
    }

    /// <summary>Stops the engine and closes the store (progress committed), keeping the directory.</summary>
    public async Task StopAsync()
    {
        await Engine.DisposeAsync();
        await Store.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync();
        if (_ownsDir) try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}

internal static class StreamExtensions
{
    public static async Task<JobTrigger> NextAsync(this JobStream stream, double seconds = 5) =>
        await stream.Triggers.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(seconds));

    public static async Task<(JobStream From, JobTrigger Trigger)> NextFromAnyAsync(params JobStream[] streams)
    {
        var deadline = DateTime.UtcNow.AddSeconds(5);
        while (true)
        {
            foreach (var s in streams)
                if (s.Triggers.TryRead(out var t)) return (s, t);
            var remaining = deadline - DateTime.UtcNow;
            if (remaining <= TimeSpan.Zero) throw new TimeoutException("no trigger on any stream");
            await Task.WhenAny(streams.Select(s => s.Triggers.WaitToReadAsync().AsTask())).WaitAsync(remaining);
        }
    }
}
