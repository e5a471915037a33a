using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Restore;

namespace BackupWorker.Tests;

/// <summary>Restores and drills against a real PostgreSQL 15 server started by the test.</summary>
public class PostgresRestoreTests
{
    internal const string Fingerprint = "SELECT count(*) || ':' || md5(string_agg(id || '|' || name || '|' || price, ',' ORDER BY id)) FROM items";
    internal const string Databases = "SELECT string_agg(datname, ',' ORDER BY datname) FROM pg_database";

    internal sealed record Setup(PostgresServer Server, EngineFixture Engine, BackupRun Backup, string AtBackup) : IAsyncDisposable
    {
        public async ValueTask DisposeAsync()
        {
            Engine.Dispose();
            await Server.DisposeAsync();
        }
    }

    /// <summary>A database "shop" with 500 rows, backed up, then changed.</summary>
    /// <param name="createShop">The statement that creates "shop".</param>
    internal static async Task<Setup> BackedUpAndChangedAsync(Action<BackupOptions>? configure = null, string createShop = "CREATE DATABASE shop")
    {
        var server = await PostgresServer.StartAsync();
        await server.PsqlAsync("postgres", createShop);
        await server.PsqlAsync("shop", "CREATE TABLE items(id serial PRIMARY KEY, name text NOT NULL, price numeric(10,2) NOT NULL);" +
            "CREATE INDEX items_by_name ON items(name);" +
            "INSERT INTO items(name, price) SELECT 'item ' || g, (g * 7 % 1000) / 10.0 FROM generate_series(1, 500) g;");
        var engine = new EngineFixture(o =>
        {
            o.Databases["shop"] = new DatabaseOptions { Provider = "postgres", ConnectionString = server.ConnectionString() };
            configure?.Invoke(o);
        });
        var backup = await engine.Runner.RunAsync("shop-nightly", new BackupMetadata("shop", "shop"), "job", CancellationToken.None);
        Assert.True(backup.Outcome == RunOutcome.Succeeded, backup.Error);
        var atBackup = await server.PsqlAsync("shop", Fingerprint);
        await server.PsqlAsync("shop", "DELETE FROM items WHERE id > 250; UPDATE items SET name = 'changed' WHERE id = 1;");
        Assert.NotEqual(atBackup, await server.PsqlAsync("shop", Fingerprint));
        return new Setup(server, engine, backup, atBackup);
    }

    internal static async Task<RestoreProblemException> RefusedAsync(EngineFixture engine, RestoreRequest request) =>
        await Assert.ThrowsAsync<RestoreProblemException>(() => engine.RestoreService.RestoreAsync(request, CancellationToken.None));

    [PostgresFact]
    public async Task Restore_into_a_new_database_brings_back_the_rows_at_backup_time()
    {
        await using var s = await BackedUpAndChangedAsync();
        var changed = await s.Server.PsqlAsync("shop", Fingerprint);

        var restore = await s.Engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: s.Backup.Id, Target: "shop_check", Create: true, RequestedBy: "test"), CancellationToken.None);

        Assert.Equal(RunOutcome.Succeeded, restore.Outcome);
        Assert.Equal("shop_check", restore.Target);
        Assert.Equal(s.AtBackup, await s.Server.PsqlAsync("shop_check", Fingerprint));
        Assert.Equal(changed, await s.Server.PsqlAsync("shop", Fingerprint));
        Assert.Equal("postgres,shop,shop_check,template0,template1", await s.Server.PsqlAsync("postgres", Databases)); // no temp database left
        Assert.Equal(RunOutcome.Succeeded, s.Engine.Restores.GetRestore(restore.Id)!.Outcome);
    }

    [PostgresFact]
    public async Task Replace_of_the_source_keeps_the_replaced_database_as_a_safety_copy()
    {
        await using var s = await BackedUpAndChangedAsync();
        var changed = await s.Server.PsqlAsync("shop", Fingerprint);

        var refused = await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "shop"));
        Assert.Equal(409, refused.Status);
        Assert.Contains("is the source database", refused.Message);
        Assert.Equal(changed, await s.Server.PsqlAsync("shop", Fingerprint));

        var restore = await s.Engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: s.Backup.Id, Target: "shop", Replace: true), CancellationToken.None);

        Assert.Equal(s.AtBackup, await s.Server.PsqlAsync("shop", Fingerprint));
        Assert.StartsWith("shop__before_", restore.SafetyCopy);
        Assert.Equal(changed, await s.Server.PsqlAsync(restore.SafetyCopy!, Fingerprint));
    }

    [PostgresFact]
    public async Task A_missing_target_needs_create_and_an_existing_one_needs_replace()
    {
        await using var s = await BackedUpAndChangedAsync();
        await s.Server.PsqlAsync("postgres", "CREATE DATABASE other");
        await s.Server.PsqlAsync("other", "CREATE TABLE keep(x int); INSERT INTO keep VALUES (42);");

        Assert.Equal(404, (await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "nowhere"))).Status);
        Assert.Equal(409, (await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "other", Create: true))).Status);
        Assert.Equal(400, (await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "template1", Replace: true))).Status);

        Assert.Equal("42", await s.Server.PsqlAsync("other", "SELECT x FROM keep"));
        Assert.Equal("other,postgres,shop,template0,template1", await s.Server.PsqlAsync("postgres", Databases));
    }

    [PostgresFact]
    public async Task A_corrupted_dump_is_refused_and_no_database_is_created_or_changed()
    {
        await using var s = await BackedUpAndChangedAsync();
        var changed = await s.Server.PsqlAsync("shop", Fingerprint);
        await using (var stream = new FileStream(s.Backup.File!, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            stream.Write(new byte[64]);
        }

        var refused = await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "shop", Replace: true));

        Assert.Equal((422, "Backup checksum mismatch"), (refused.Status, refused.Title));
        Assert.Equal(changed, await s.Server.PsqlAsync("shop", Fingerprint));
        Assert.Equal("postgres,shop,template0,template1", await s.Server.PsqlAsync("postgres", Databases));
        Assert.Equal(RunOutcome.Failed, s.Engine.Restores.GetRestore(refused.Record!.Id)!.Outcome);
    }

    [PostgresFact]
    public async Task A_dump_pg_restore_cannot_read_is_a_422_and_leaves_no_database_behind()
    {
        await using var s = await BackedUpAndChangedAsync();
        // Damaged in a way the recorded checksum still vouches for (the checksum was taken of a bad file): only pg_restore can tell.
        await File.WriteAllTextAsync(s.Backup.File!, "PGDMP but not really a dump");
        var damaged = s.Backup with { Checksum = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(await File.ReadAllBytesAsync(s.Backup.File!))) };
        s.Engine.Catalog.CompleteRun(damaged);

        var refused = await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "shop_check", Create: true));

        Assert.Equal((422, "Dump could not be restored"), (refused.Status, refused.Title));
        Assert.Contains("pg_restore", refused.Message);
        Assert.Equal("postgres,shop,template0,template1", await s.Server.PsqlAsync("postgres", Databases));
    }

    [PostgresFact]
    public async Task Missing_tools_or_server_are_a_503_with_the_reason()
    {
        await using var s = await BackedUpAndChangedAsync();
        s.Engine.Options.PsqlPath = "/nonexistent/psql";
        var noTools = await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "shop_check", Create: true));
        Assert.Equal(503, noTools.Status);
        Assert.Contains("psql was not found", noTools.Message);

        s.Engine.Options.PsqlPath = "psql";
        s.Engine.Options.Databases["shop"].ConnectionString = $"Host=127.0.0.1;Port={TestSupport.FreePort.Next()};Username=postgres";
        var noServer = await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "shop_check", Create: true));
        Assert.Equal(503, noServer.Status);
        Assert.Contains("could not be reached", noServer.Message);
    }

    [PostgresFact]
    public async Task Drills_compare_a_scratch_restore_with_the_manifest_and_fail_on_a_damaged_dump()
    {
        await using var s = await BackedUpAndChangedAsync();
        var manifest = s.Engine.Restores.GetManifest(s.Backup.Id)!;
        Assert.Equal([new TableRows("public.items", 500)], manifest.Tables);

        var drill = await s.Engine.Drills.DrillAsync(s.Backup, "manual", CancellationToken.None);

        Assert.True(drill.Outcome == DrillOutcome.Succeeded, drill.Error);
        Assert.Equal(manifest.SchemaHash, drill.Actual!.SchemaHash);
        Assert.Equal("postgres,shop,template0,template1", await s.Server.PsqlAsync("postgres", Databases)); // scratch dropped

        s.Engine.Time.Advance(TimeSpan.FromMinutes(1));
        await using (var stream = new FileStream(s.Backup.File!, FileMode.Open, FileAccess.ReadWrite))
        {
            stream.Position = stream.Length / 2;
            stream.Write(new byte[64]);
        }
        var failed = await s.Engine.Drills.DrillAsync(s.Backup, "manual", CancellationToken.None);

        Assert.Equal(DrillOutcome.Failed, failed.Outcome);
        Assert.False(s.Engine.Restores.IsRestorable(s.Backup.Id));
        Assert.Equal([failed.Id, drill.Id], s.Engine.Restores.ListDrills(backupId: s.Backup.Id).Select(d => d.Id));
    }
}
