using System.Security.Cryptography;
using BackupWorker.Backups;
using BackupWorker.Hosting;

namespace BackupWorker.Tests;

/// <summary>pg_dump against a real PostgreSQL 15 server started by the test.</summary>
public class PostgresBackupTests
{
    private const string Fingerprint = "SELECT count(*) || ':' || md5(string_agg(id || '|' || name || '|' || price, ',' ORDER BY id)) FROM items";

    [PostgresFact]
    public async Task Dump_of_the_named_database_restores_to_the_same_rows()
    {
        await using var server = await PostgresServer.StartAsync();
        await server.PsqlAsync("postgres", "CREATE DATABASE shop");
        await server.PsqlAsync("shop", "CREATE TABLE items(id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);" +
            "INSERT INTO items(name, price) SELECT 'item ' || g, (g * 7 % 1000) / 10.0 FROM generate_series(1, 500) g;");
        var source = await server.PsqlAsync("shop", Fingerprint);
        Assert.StartsWith("500:", source);

        using var engine = new EngineFixture(o => o.Databases["shop"] = new DatabaseOptions { Provider = "postgres", ConnectionString = server.ConnectionString() });
        var run = await engine.Runner.RunAsync("pg-nightly", new BackupMetadata("shop", "shop"), "job", CancellationToken.None);

        Assert.True(run.Outcome == RunOutcome.Succeeded, run.Error);
        Assert.EndsWith(".dump", run.File);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(await File.ReadAllBytesAsync(run.File!))), run.Checksum);
        Assert.True(File.Exists(run.File + ".sha256"));

        await server.PsqlAsync("postgres", "CREATE DATABASE restored");
        await server.RestoreAsync(run.File!, "restored");
        Assert.Equal(source, await server.PsqlAsync("restored", Fingerprint));
    }

    [PostgresFact]
    public async Task Worker_process_backs_up_a_configured_postgres_database_on_trigger()
    {
        await using var server = await PostgresServer.StartAsync();
        await server.PsqlAsync("postgres", "CREATE DATABASE orders");
        await server.PsqlAsync("orders", "CREATE TABLE items(id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);" +
            "INSERT INTO items(name, price) SELECT 'order ' || g, g FROM generate_series(1, 50) g;");
        var port = TestSupport.FreePort.Next();
        var data = Directory.CreateTempSubdirectory("backupworker-pg-").FullName;
        try
        {
            await using var worker = TestSupport.TestProcess.StartDotnet("backupworker", TestSupport.RepoPaths.ProjectOutput("BackupWorker", "BackupWorker"), [],
                new Dictionary<string, string?>
                {
                    ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
                    ["Backup__DataDirectory"] = data,
                    ["Backup__Databases__orders-db__Provider"] = "postgres",
                    // As the AppHost passes it: an Aspire connection string (a secret parameter), not a Backup setting.
                    ["ConnectionStrings__orders-db"] = server.ConnectionString("orders"),
                    ["Demo__Enabled"] = "false",
                    ["DAPR_GRPC_ENDPOINT"] = $"http://127.0.0.1:{TestSupport.FreePort.Next()}",
                    ["OTEL_EXPORTER_OTLP_ENDPOINT"] = null,
                });
            await worker.WaitForOutputAsync(l => l.Contains("Application started", StringComparison.Ordinal), TimeSpan.FromSeconds(60));
            using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}"), Timeout = TimeSpan.FromSeconds(60) };

            var response = await http.PostAsync("/job/orders-nightly", new StringContent(
                "{\"task\":\"db-backup\",\"metadata\":{\"DBName\":\"orders-db\",\"BackupLocation\":\"orders\"}}", System.Text.Encoding.UTF8, "application/json"));

            Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
            var dump = Assert.Single(Directory.GetFiles(Path.Combine(data, "backups", "orders"), "*.dump"));
            await server.PsqlAsync("postgres", "CREATE DATABASE orders_restored");
            await server.RestoreAsync(dump, "orders_restored");
            Assert.Equal(await server.PsqlAsync("orders", Fingerprint), await server.PsqlAsync("orders_restored", Fingerprint));
        }
        finally
        {
            try { Directory.Delete(data, recursive: true); } catch (IOException) { }
        }
    }

    [PostgresFact]
    public async Task Missing_database_on_a_running_server_is_a_failed_run_with_the_server_message()
    {
        await using var server = await PostgresServer.StartAsync();
        using var engine = new EngineFixture(o => o.Databases["gone"] = new DatabaseOptions { Provider = "postgres", ConnectionString = server.ConnectionString("does_not_exist") });

        var run = await engine.Runner.RunAsync("s", new BackupMetadata("gone", "gone"), "job", CancellationToken.None);

        Assert.Equal(RunOutcome.Failed, run.Outcome);
        Assert.Contains("database \"does_not_exist\" does not exist", run.Error);
        Assert.Empty(Directory.GetFiles(Path.Combine(engine.DataDirectory, "backups", "gone")));
    }
}
