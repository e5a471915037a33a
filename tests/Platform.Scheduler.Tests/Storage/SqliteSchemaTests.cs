using Microsoft.Data.Sqlite;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;

namespace Platform.Scheduler.Tests.Storage;

/// <summary>
/// The SQLite file's versions: a file of the first version (progress in the jobs table) is brought up to date with
/// every job and its progress, a failed upgrade leaves the file as it was, a newer file is refused untouched, a job has
/// a progress row once it fired, however it was written, and none once it is gone.
/// </summary>
public sealed class SqliteSchemaTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("store-schema-").FullName;

    private string DatabasePath => Path.Combine(_directory, "scheduler.db");

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        try { Directory.Delete(_directory, true); } catch (IOException) { }
    }

    [Fact]
    public async Task A_first_version_file_keeps_every_job_and_its_progress_and_goes_on_recording_progress()
    {
        WriteVersionZero();
        var before = Rows("SELECT name || '|' || partition_id || '|' || coalesce(schedule, '') || '|' || hex(data) || '|' || hex(failure_policy) FROM jobs");

        var upgraded = new List<StoredJob>();
        await using (var store = new SqliteJobStore(_directory))
        {
            await store.OpenAsync();
            await foreach (var job in store.LoadAsync(_ => true)) upgraded.Add(job);
            var fired = upgraded.Single(j => j.Key.Name == "fired");
            store.EnqueueProgress(new ProgressUpdate(fired.RowId, fired.PartitionId, new JobProgress(8, 800, 0, JobResultKind.Success)));
        }

        // Every job is still there, column for column; the progress went with the job it belongs to.
        Assert.Equal(before, Rows("SELECT name || '|' || partition_id || '|' || coalesce(schedule, '') || '|' || hex(data) || '|' || hex(failure_policy) FROM jobs"));
        Assert.Equal(new JobProgress(7, 700, 0, JobResultKind.Success), upgraded.Single(j => j.Key.Name == "fired").Progress);
        Assert.Equal(new JobProgress(2, TickCalculator.None, 3, JobResultKind.Failed), upgraded.Single(j => j.Key.Name == "retrying").Progress);
        Assert.Equal(JobProgress.Initial, upgraded.Single(j => j.Key.Name == "never-fired").Progress);
        Assert.Equal(["1"], Rows("PRAGMA user_version"));
        Assert.DoesNotContain("count", Rows("SELECT name FROM pragma_table_info('jobs')"));
        // Only jobs that fired have a progress row.
        Assert.Equal(["fired", "retrying"], Rows("SELECT j.name FROM progress p JOIN jobs j ON j.id = p.id AND j.partition_id = p.partition_id ORDER BY j.name"));

        await using var reopened = new SqliteJobStore(_directory);
        await reopened.OpenAsync();
        Assert.Equal(8u, (await reopened.GetAsync(new JobKey("ns", "app", "fired")))!.Progress.Count);
        Assert.Equal(3, (await reopened.ListAsync("ns", "app")).Count);
    }

    [Fact]
    public async Task An_upgrade_that_fails_leaves_the_first_version_file_as_it_was()
    {
        WriteVersionZero();
        // A view of the old progress column stops SQLite from dropping it, half-way through the upgrade.
        Execute("CREATE VIEW counts AS SELECT name, count FROM jobs");
        var before = Rows("SELECT name || '|' || count || '|' || coalesce(last_trigger, '') || '|' || attempts || '|' || last_result FROM jobs");

        await using (var store = new SqliteJobStore(_directory))
            await Assert.ThrowsAsync<SqliteException>(() => store.OpenAsync());

        Assert.Equal(before, Rows("SELECT name || '|' || count || '|' || coalesce(last_trigger, '') || '|' || attempts || '|' || last_result FROM jobs"));
        Assert.Equal(["0"], Rows("PRAGMA user_version"));
        Assert.Empty(Rows("SELECT name FROM sqlite_schema WHERE name = 'progress'"));
    }

    [Fact]
    public async Task A_file_of_a_newer_version_is_refused_and_left_untouched()
    {
        await using (var store = new SqliteJobStore(_directory))
        {
            await store.OpenAsync();
            Assert.True(await store.PutAsync(Job("kept", 1), overwrite: false));
        }
        Execute("PRAGMA user_version = 2");

        await using (var store = new SqliteJobStore(_directory))
        {
            var refused = await Assert.ThrowsAsync<InvalidOperationException>(() => store.OpenAsync());
            Assert.Contains("schema version 2, written by a newer scheduler", refused.Message);
        }
        Assert.Equal(["2"], Rows("PRAGMA user_version"));
        Assert.Equal(["kept"], Rows("SELECT name FROM jobs"));
    }

    [Fact]
    public async Task A_job_that_is_deleted_completed_or_replaced_leaves_no_progress_behind()
    {
        await using var store = new SqliteJobStore(_directory);
        await store.OpenAsync();
        var jobs = new[] { Job("deleted", 1), Job("completed", 2), Job("prefix-a", 3), Job("prefix-b", 4), Job("replaced", 5), Job("kept", 6) };
        foreach (var job in jobs)
        {
            Assert.True(await store.PutAsync(job, overwrite: false));
            store.EnqueueProgress(new ProgressUpdate(job.RowId, job.PartitionId, new JobProgress(1, 10, 0, JobResultKind.Success)));
        }
        await store.FlushAsync();
        Assert.Equal("6", Rows("SELECT count(*) FROM progress").Single());

        await store.DeleteAsync(jobs[0].Key);
        store.EnqueueCompletion(jobs[1].RowId, jobs[1].PartitionId);
        await store.DeleteByPrefixAsync("ns", "app", "prefix-");
        Assert.True(await store.PutAsync(Job("replaced", 50), overwrite: true));
        // Progress still queued for a job that is gone is dropped, not written under its row id.
        store.EnqueueProgress(new ProgressUpdate(jobs[0].RowId, jobs[0].PartitionId, new JobProgress(2, 20, 0, JobResultKind.Success)));
        await store.FlushAsync();

        Assert.Equal(["kept"], Rows("SELECT j.name FROM progress p JOIN jobs j ON j.id = p.id AND j.partition_id = p.partition_id"));
        Assert.Equal("1", Rows("SELECT count(*) FROM progress").Single());
        Assert.Equal(JobProgress.Initial, (await store.GetAsync(new JobKey("ns", "app", "replaced")))!.Progress);
        Assert.Equal(1u, (await store.GetAsync(new JobKey("ns", "app", "kept")))!.Progress.Count);
    }

    [Fact]
    public async Task A_job_written_into_the_file_by_hand_records_its_progress()
    {
        await using (var store = new SqliteJobStore(_directory))
            await store.OpenAsync();
        // As a bulk load or a hand repair writes it: the jobs table alone, and a progress row left from another job.
        Execute("""
            INSERT INTO jobs(namespace, app_id, name, partition_id, schedule, failure_policy, created) VALUES ('ns', 'app', 'by-hand', 21, '@every 1s', x'0a', 1);
            INSERT INTO progress(id, partition_id, count, last_trigger, attempts, last_result) SELECT id, 999, 50, 500, 0, 1 FROM jobs WHERE name = 'by-hand';
            """);

        await using (var store = new SqliteJobStore(_directory))
        {
            await store.OpenAsync();
            var job = Assert.Single(await store.ListAsync("ns", "app"));
            Assert.Equal(JobProgress.Initial, job.Progress);
            store.EnqueueProgress(new ProgressUpdate(job.RowId, job.PartitionId, new JobProgress(4, 40, 0, JobResultKind.Success)));
        }

        await using var reopened = new SqliteJobStore(_directory);
        await reopened.OpenAsync();
        Assert.Equal(new JobProgress(4, 40, 0, JobResultKind.Success), (await reopened.GetAsync(new JobKey("ns", "app", "by-hand")))!.Progress);
        Assert.Equal(["21"], Rows("SELECT partition_id FROM progress"));
    }

    private static StoredJob Job(string name, ulong partition) => new()
    {
        Key = new JobKey("ns", "app", name),
        PartitionId = partition,
        Schedule = "@every 1s",
        FailurePolicy = [1, 2, 3],
        Created = 1,
        Data = [9, 8],
    };

    /// <summary>A file as the first version of the store wrote it: the progress in four columns of the jobs table.</summary>
    private void WriteVersionZero() => Execute("""
        PRAGMA journal_mode=WAL;
        CREATE TABLE jobs(
          id INTEGER PRIMARY KEY,
          namespace TEXT NOT NULL, app_id TEXT NOT NULL, name TEXT NOT NULL,
          partition_id INTEGER NOT NULL,
          schedule TEXT, repeats INTEGER, due_time TEXT, ttl TEXT,
          data BLOB, failure_policy BLOB NOT NULL,
          created INTEGER NOT NULL, due INTEGER, expiration INTEGER,
          trace_parent TEXT, trace_state TEXT,
          count INTEGER NOT NULL DEFAULT 0, last_trigger INTEGER, attempts INTEGER NOT NULL DEFAULT 0,
          last_result INTEGER NOT NULL DEFAULT 0);
        CREATE UNIQUE INDEX jobs_key ON jobs(namespace, app_id, name);
        INSERT INTO jobs(namespace, app_id, name, partition_id, schedule, data, failure_policy, created, count, last_trigger, attempts, last_result)
        VALUES ('ns', 'app', 'fired', 11, '@every 1s', x'0102', x'0a', 1, 7, 700, 0, 1),
               ('ns', 'app', 'retrying', 12, '@every 1h', NULL, x'0a', 1, 2, NULL, 3, 2),
               ('ns', 'app', 'never-fired', 13, '@daily', x'03', x'0b', 1, 0, NULL, 0, 0);
        """);

    private void Execute(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private List<string> Rows(string sql)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = DatabasePath, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read()) rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        return rows;
    }
}
