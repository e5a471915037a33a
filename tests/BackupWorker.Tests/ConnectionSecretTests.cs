using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
using BackupWorker.Backups;
using BackupWorker.Hosting;

namespace BackupWorker.Tests;

/// <summary>A PostgreSQL password given in a connection string never shows in logs, traces, the catalog or its answers.</summary>
public class ConnectionSecretTests
{
    [PostgresFact]
    public async Task A_postgres_password_appears_in_no_log_trace_or_catalog_answer_whatever_the_run_does()
    {
        var password = "pw-" + Guid.NewGuid().ToString("N");
        await using var server = await PostgresServer.StartAsync(password);
        await server.PsqlAsync("postgres", "CREATE DATABASE shop");
        await server.PsqlAsync("shop", "CREATE TABLE items(id int PRIMARY KEY); INSERT INTO items SELECT generate_series(1, 20);");

        var activities = new ConcurrentQueue<Activity>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == BackupTelemetry.Name,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = activities.Enqueue,
        };
        ActivitySource.AddActivityListener(listener);
        var wrong = "Host=127.0.0.1;Port=" + server.Port + ";Username=postgres;Password=" + password + "x;Database=shop";
        using var engine = new EngineFixture(o =>
        {
            o.Databases["shop"] = new DatabaseOptions { Provider = "postgres", ConnectionString = server.ConnectionString("shop") };
            o.Databases["wrong-password"] = new DatabaseOptions { Provider = "postgres", ConnectionString = wrong };
            o.Databases["no-server"] = new DatabaseOptions { Provider = "postgres", ConnectionString = $"Host=127.0.0.1;Port=1;Username=postgres;Password={password};Database=shop" };
            // A connection string inside the database name would put the password on pg_dump's command line.
            o.Databases["conninfo"] = new DatabaseOptions { Provider = "postgres", ConnectionString = $"Host=127.0.0.1;Port={server.Port};Username=postgres;Database=dbname=shop password={password}" };
        });

        var ok = await engine.Runner.RunAsync("shop", new BackupMetadata("shop", "shop"), "job", CancellationToken.None);
        var refused = await engine.Runner.RunAsync("wrong", new BackupMetadata("wrong-password", "wrong"), "job", CancellationToken.None);
        var unreachable = await engine.Runner.RunAsync("none", new BackupMetadata("no-server", "none"), "job", CancellationToken.None);
        var conninfo = await engine.Runner.RunAsync("conninfo", new BackupMetadata("conninfo", "conninfo"), "job", CancellationToken.None);

        Assert.True(ok.Outcome == RunOutcome.Succeeded, ok.Error);
        Assert.Equal(RunOutcome.Failed, refused.Outcome);
        Assert.Contains("password authentication failed", refused.Error);
        Assert.Equal(RunOutcome.Failed, unreachable.Outcome);
        Assert.Equal(RunOutcome.Failed, conninfo.Outcome);
        Assert.Equal("The Database of 'conninfo''s connection string must be a database name, not a connection string.", conninfo.Error);

        var shown = new List<string>(engine.Logger.Entries)
        {
            JsonSerializer.Serialize(engine.Catalog.ListRuns()),
            JsonSerializer.Serialize(engine.Catalog.ListBackups()),
        };
        // The listener hears every test's runs: only this test's count.
        var runIds = new HashSet<string>([ok.Id, refused.Id, unreachable.Id, conninfo.Id]);
        var mine = activities.Where(a => a.GetTagItem("backup.run_id") is string id && runIds.Contains(id)).ToList();
        foreach (var activity in mine)
        {
            shown.Add($"{activity.DisplayName} {activity.StatusDescription}");
            shown.AddRange(activity.TagObjects.Select(t => $"{t.Key}={t.Value}"));
            shown.AddRange(activity.Events.SelectMany(e => e.Tags.Select(t => $"{e.Name} {t.Key}={t.Value}")));
        }
        Assert.Equal(4, mine.Count);
        Assert.NotEmpty(engine.Logger.Entries);
        Assert.All(shown, text => Assert.DoesNotContain(password, text));
    }
}
