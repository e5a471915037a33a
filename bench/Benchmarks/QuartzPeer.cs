using Microsoft.Data.Sqlite;
using Quartz;

namespace Benchmarks;

/// <summary>Which Quartz.NET job store a peer measurement uses.</summary>
public enum QuartzStore
{
    /// <summary>RAMJobStore: in memory, not durable.</summary>
    Ram,
    /// <summary>The ADO job store on a SQLite file (Microsoft.Data.Sqlite), durable.</summary>
    AdoSqlite,
}

/// <summary>
/// Quartz.NET 4.7.3 schedulers built for the peer measurements. The ADO store's tables are created by Quartz's
/// own schema provisioning at start-up (no DDL script is copied into this repository).
/// </summary>
public static class QuartzPeer
{
    public static string Label(QuartzStore store) => store == QuartzStore.Ram ? "Quartz RAMJobStore" : "Quartz ADO (SQLite)";

    public static async Task<(IScheduler Scheduler, DirectoryInfo? Dir)> StartAsync(QuartzStore store, string name)
    {
        DirectoryInfo? dir = null;
        var builder = QuartzSchedulerBuilder.Create(q =>
        {
            q.ConfigureScheduler(s =>
            {
                s.InstanceName = name;
                s.InstanceId = name;
            });
            if (store == QuartzStore.Ram)
            {
                q.UseInMemoryStore(_ => { });
            }
            else
            {
                dir = Directory.CreateTempSubdirectory("bench-quartz-");
                var cs = new SqliteConnectionStringBuilder { DataSource = Path.Combine(dir.FullName, "quartz.db"), Pooling = true }.ToString();
                q.UsePersistentStore(s =>
                {
                    s.UseSqlite(SqliteFactory.Instance, cs);
                    s.ProvisionSchema();
                });
            }
        });
        var scheduler = await builder.BuildScheduler();
        if (store == QuartzStore.AdoSqlite)
        {
            // WAL as ours uses, so the peer is not handicapped by rollback journaling.
            using var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path.Combine(dir!.FullName, "quartz.db") }.ToString());
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "PRAGMA journal_mode=WAL;";
            cmd.ExecuteNonQuery();
        }
        return (scheduler, dir);
    }

    public static async Task StopAsync(IScheduler scheduler, DirectoryInfo? dir)
    {
        await scheduler.Shutdown(waitForJobsToComplete: false);
        SqliteConnection.ClearAllPools();
        if (dir is not null)
        {
            try { dir.Delete(recursive: true); } catch (IOException) { } catch (UnauthorizedAccessException) { }
        }
    }
}

/// <summary>Records the lateness of every Quartz firing (actual start − scheduled fire time) into the current sink.</summary>
public sealed class LatenessJob : IJob
{
    public static volatile FiringSink? Sink;

    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var now = DateTimeOffset.UtcNow;
        Sink?.Record(now, context.ScheduledFireTimeUtc ?? now);
        return ValueTask.CompletedTask;
    }
}

/// <summary>Does nothing: for scheduling-rate runs, where no trigger ever fires.</summary>
public sealed class NoopJob : IJob
{
    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}

/// <summary>Counts deliveries and lateness inside the measurement window only.</summary>
public sealed class FiringSink(DateTimeOffset windowStart, DateTimeOffset windowEnd, double expectedPerSecond = 0)
{
    private long _count;
    public Samples Lateness { get; } = new((int)Math.Min(int.MaxValue / 2, expectedPerSecond * 1.1 * (windowEnd - windowStart).TotalSeconds));
    public long Count => Interlocked.Read(ref _count);
    public DateTimeOffset WindowStart { get; } = windowStart;
    public DateTimeOffset WindowEnd { get; } = windowEnd;

    public void Record(DateTimeOffset now, DateTimeOffset scheduled)
    {
        if (now < WindowStart || now >= WindowEnd) return;
        Interlocked.Increment(ref _count);
        Lateness.Add((now - scheduled).TotalMilliseconds);
    }
}
