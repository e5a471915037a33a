using System.Net;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Platform.Hosting;
using Platform.Hosting.Orchestration;
using Platform.Hosting.Testing;
using Xunit.Abstractions;

namespace AppHost.Tests;

/// <summary>
/// The whole application, started through the testing entry point from the AppHost's own Program: scheduler, two
/// sidecars, BackupWorker and BackupApi as real processes on free loopback ports with a temporary data directory.
/// </summary>
[Collection(WholeAppCollection.Name)]
public sealed class WholeAppTests(ITestOutputHelper output)
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan TriggerTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task The_how_to_job_produces_verified_backups_and_dispose_leaves_no_process()
    {
        var pids = new HashSet<int>();
        string dataDir;
        {
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
                ["--Demo:Schedule=@every 2s", "--Demo:KeepLast=100"]);
            dataDir = builder.DataDirectory;
            await using var app = await StartAsync(builder, pids);
            try
            {
                using var http = app.CreateHttpClient("backupapi");
                var backups = await PollAsync(async () =>
                {
                    var list = await http.GetFromJsonAsync<JsonElement>("/backups?schedule=prod-db-backup");
                    return list.GetArrayLength() >= 2 ? list : (JsonElement?)null;
                }, TriggerTimeout, app);

                foreach (var backup in backups.EnumerateArray().Take(2))
                {
                    Assert.Equal("prod-db-backup", backup.GetProperty("schedule").GetString());
                    Assert.Equal("my-prod-db", backup.GetProperty("database").GetString());
                    Assert.Equal("job", backup.GetProperty("trigger").GetString());
                    VerifySqliteBackup(backup, dataDir);
                }

                var schedule = await http.GetFromJsonAsync<JsonElement>("/schedules/prod-db-backup");
                Assert.Equal("@every 2s", schedule.GetProperty("schedule").GetString());
                CollectDescendants(app, pids);
            }
            catch
            {
                output.WriteLine(TestHelpers.AllLogs(app));
                throw;
            }
        }

        AssertNothingLeft(pids, dataDir);
    }

    [Fact]
    public async Task A_schedule_created_through_BackupApi_triggers_on_the_worker()
    {
        var pids = new HashSet<int>();
        string dataDir;
        {
            // The demo job off, so every run seen here comes from the schedule this test creates.
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(["--Demo:Enabled=false"]);
            dataDir = builder.DataDirectory;
            await using var app = await StartAsync(builder, pids);
            try
            {
                using var http = app.CreateHttpClient("backupapi");
                var create = await http.PostAsJsonAsync("/schedules", new
                {
                    name = "api-made",
                    database = "my-prod-db",
                    location = "backups/api-made",
                    schedule = "@every 1s",
                    repeats = 3,
                });
                Assert.True(create.StatusCode == HttpStatusCode.Created, await create.Content.ReadAsStringAsync());

                var run = await PollAsync(async () =>
                {
                    var runs = await http.GetFromJsonAsync<JsonElement>("/runs?schedule=api-made");
                    return runs.EnumerateArray().Where(r => r.GetProperty("outcome").GetString() == "Succeeded")
                        .Select(r => (JsonElement?)r).FirstOrDefault();
                }, TriggerTimeout, app);

                Assert.Equal("job", run.GetProperty("trigger").GetString());
                VerifySqliteBackup(run, dataDir);
                Assert.StartsWith(Path.Combine(dataDir, "backupworker", "backups", "api-made"), run.GetProperty("file").GetString(), StringComparison.Ordinal);
                CollectDescendants(app, pids);
            }
            catch
            {
                output.WriteLine(TestHelpers.AllLogs(app));
                throw;
            }
        }

        AssertNothingLeft(pids, dataDir);
    }

    [Fact]
    public async Task A_killed_worker_is_restarted_by_the_AppHost_and_backups_resume()
    {
        var pids = new HashSet<int>();
        string dataDir;
        {
            await using var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.AppHost>(
                ["--Demo:Schedule=@every 1s", "--Demo:Repeats=1000", "--Demo:KeepLast=1000"]);
            dataDir = builder.DataDirectory;
            await using var app = await StartAsync(builder, pids);
            try
            {
                using var http = app.CreateHttpClient("backupapi");
                await PollAsync(async () => await CountJobBackupsAsync(http) >= 1 ? true : (bool?)null, TriggerTimeout, app);

                var victim = app.GetProcessId("backupworker")!.Value;
                using (var process = System.Diagnostics.Process.GetProcessById(victim)) process.Kill(); // SIGKILL, as a crash
                var killedAt = DateTimeOffset.UtcNow;

                var restarted = await app.ResourceNotifications.WaitForResourceAsync("backupworker",
                    e => e.Snapshot.IsHealthy && e.Snapshot.Restarts == 1).WaitAsync(StartTimeout);
                Assert.NotEqual(victim, restarted.Snapshot.Pid);
                Assert.False(TestHelpers.IsAlive(victim));
                pids.Add(restarted.Snapshot.Pid!.Value);

                // A backup that started after the kill, made by the new worker process from a job trigger.
                var resumed = await PollAsync(async () =>
                {
                    var list = await http.GetFromJsonAsync<JsonElement>("/backups?schedule=prod-db-backup");
                    return list.EnumerateArray().Where(b => b.GetProperty("startedAt").GetDateTimeOffset() > killedAt)
                        .Select(b => (JsonElement?)b).FirstOrDefault();
                }, TriggerTimeout, app);
                VerifySqliteBackup(resumed, dataDir);
                CollectDescendants(app, pids);
            }
            catch
            {
                output.WriteLine(TestHelpers.AllLogs(app));
                throw;
            }
        }

        AssertNothingLeft(pids, dataDir);
    }

    private static async Task<int> CountJobBackupsAsync(HttpClient http)
        => (await http.GetFromJsonAsync<JsonElement>("/backups?schedule=prod-db-backup")).GetArrayLength();

    private async Task<DistributedApplication> StartAsync(IDistributedApplicationTestingBuilder builder, HashSet<int> pids)
    {
        var app = await builder.BuildAsync();
        app.ResourceNotifications.Changed += (e, _) =>
        {
            if (e.Snapshot.Pid is { } pid) lock (pids) pids.Add(pid);
        };
        await app.StartAsync();
        try
        {
            foreach (var resource in app.Resources)
                await app.ResourceNotifications.WaitForResourceHealthyAsync(resource.Name).WaitAsync(StartTimeout);
        }
        catch
        {
            output.WriteLine(TestHelpers.AllLogs(app));
            throw;
        }
        return app;
    }

    /// <summary>The backup file exists, matches its recorded SHA-256 (and its .sha256 file), and is a sound SQLite copy of the demo database.</summary>
    private static void VerifySqliteBackup(JsonElement backup, string dataDir)
    {
        Assert.Equal("Succeeded", backup.GetProperty("outcome").GetString());
        var file = backup.GetProperty("file").GetString()!;
        Assert.StartsWith(dataDir, file, StringComparison.Ordinal);
        Assert.True(File.Exists(file), file);
        var checksum = backup.GetProperty("checksum").GetString()!;
        using (var stream = File.OpenRead(file))
            Assert.Equal(checksum, Convert.ToHexStringLower(SHA256.HashData(stream)));
        Assert.StartsWith(checksum, File.ReadAllText(file + ".sha256"), StringComparison.Ordinal);

        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var check = connection.CreateCommand();
        check.CommandText = "PRAGMA integrity_check";
        Assert.Equal("ok", check.ExecuteScalar());
        using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM customers";
        Assert.Equal(50L, count.ExecuteScalar());
    }

    private static void CollectDescendants(DistributedApplication app, HashSet<int> pids)
    {
        foreach (var resource in app.Resources)
            if (app.GetProcessId(resource.Name) is { } pid)
                lock (pids)
                {
                    pids.Add(pid);
                    foreach (var d in ProcessTree.Descendants(pid)) pids.Add(d.Pid);
                }
    }

    /// <summary>No process the app ran survives, and no process anywhere still names the test's data directory.</summary>
    private static void AssertNothingLeft(HashSet<int> pids, string dataDir)
    {
        Assert.NotEmpty(pids);
        Assert.All(pids, pid => Assert.False(TestHelpers.IsAlive(pid), $"pid {pid} survived dispose"));
        Assert.Empty(TestSupport.ProcessProbe.Mentioning(dataDir));
        Assert.False(Directory.Exists(dataDir), "the temporary data directory is deleted on dispose");
    }

    /// <summary>Polls an HTTP API (which offers no event to await) every 500 ms until it yields a value, within the timeout.</summary>
    private async Task<T> PollAsync<T>(Func<Task<T?>> probe, TimeSpan timeout, DistributedApplication app) where T : struct
    {
        using var cts = new CancellationTokenSource(timeout);
        Exception? last = null;
        while (!cts.IsCancellationRequested)
        {
            try
            {
                if (await probe() is { } value) return value;
            }
            catch (Exception ex) when (ex is HttpRequestException or JsonException or TaskCanceledException)
            {
                last = ex;
            }
            try { await Task.Delay(500, cts.Token); }
            catch (OperationCanceledException) { break; }
        }
        output.WriteLine(TestHelpers.AllLogs(app));
        throw new TimeoutException($"Condition not met within {timeout}. Last error: {last?.Message}");
    }
}

/// <summary>Whole-app tests run one at a time: each starts five .NET processes on a 2-core machine.</summary>
[CollectionDefinition(Name)]
public sealed class WholeAppCollection
{
    public const string Name = "whole application";
}
