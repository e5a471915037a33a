using System.Diagnostics;
using BackupWorker.Backups;
using BackupWorker.Restore;
using TestSupport;
using static BackupWorker.Tests.PostgresRestoreTests;

namespace BackupWorker.Tests;

/// <summary>
/// A PostgreSQL restore over an existing database (replace), against a real PostgreSQL 15 server: the replaced
/// database's own properties carried over, the swap atomic, sessions on the target refused or ended.
/// </summary>
public class PostgresReplaceTests
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    /// <summary>Everything a database is besides its contents, as one comparable line.</summary>
    private static string Properties(string database) => $"""
        SELECT pg_get_userbyid(d.datdba) || ' | ' || coalesce(d.datacl::text, 'default') || ' | limit ' || d.datconnlimit
            || ' | allow ' || d.datallowconn || ' | ' || coalesce(shobj_description(d.oid, 'pg_database'), 'no comment')
            || ' | ' || pg_encoding_to_char(d.encoding) || ' ' || d.datcollate || ' ' || d.datctype || ' | '
            || coalesce((SELECT string_agg(coalesce(pg_get_userbyid(nullif(s.setrole, 0::oid)), 'database') || ': ' || array_to_string(s.setconfig, ', '),
                ' ; ' ORDER BY s.setrole) FROM pg_db_role_setting s WHERE s.setdatabase = d.oid), 'no settings')
        FROM pg_database d WHERE d.datname = '{database}'
        """;

    /// <summary>A psql session on <paramref name="database"/> running <paramref name="sql"/>, found by its application name.</summary>
    private static TestProcess Session(PostgresServer server, string database, string applicationName, string sql)
    {
        var psi = new ProcessStartInfo("/usr/lib/postgresql/15/bin/psql");
        foreach (var a in new[] { "-h", "127.0.0.1", "-p", server.Port.ToString(), "-U", "postgres", "-d", database, "-At", "-c", sql }) psi.ArgumentList.Add(a);
        return TestProcess.Start(applicationName, psi, new Dictionary<string, string?> { ["PGAPPNAME"] = applicationName, ["PGPASSWORD"] = server.Password });
    }

    /// <summary>Until the session named <paramref name="applicationName"/> is in <c>pg_sleep</c> (its earlier statements done).</summary>
    private static Task SleepingAsync(PostgresServer server, string applicationName) =>
        Poll.UntilAsync<bool>(async () => await server.PsqlAsync("postgres",
                $"SELECT count(*) FROM pg_stat_activity WHERE application_name = '{applicationName}' AND wait_event = 'PgSleep'") == "1" ? true : null,
            Bound, $"session {applicationName} sleeping");

    [PostgresFact]
    public async Task Replace_keeps_the_replaced_databases_owner_privileges_settings_connection_limit_comment_and_encoding()
    {
        await using var s = await BackedUpAndChangedAsync(createShop: "CREATE DATABASE shop TEMPLATE template0 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C'");
        var changed = await s.Server.PsqlAsync("shop", Fingerprint);
        await s.Server.PsqlAsync("postgres", """
            CREATE ROLE shop_owner LOGIN;
            CREATE ROLE "odd ""reader"" role" LOGIN;
            ALTER DATABASE shop OWNER TO shop_owner;
            REVOKE CONNECT, TEMPORARY ON DATABASE shop FROM PUBLIC;
            GRANT CONNECT ON DATABASE shop TO "odd ""reader"" role";
            ALTER DATABASE shop SET search_path = app, "Mixed Case", public;
            ALTER DATABASE shop SET statement_timeout = '42s';
            ALTER ROLE "odd ""reader"" role" IN DATABASE shop SET work_mem = '8MB';
            ALTER DATABASE shop CONNECTION LIMIT 7;
            COMMENT ON DATABASE shop IS 'the shop''s data; don''t drop';
            """);
        var before = await s.Server.PsqlAsync("postgres", Properties("shop"));
        Assert.Equal("shop_owner | {shop_owner=CTc/shop_owner,\"\\\"odd \\\"\\\"reader\\\"\\\" role\\\"=c/shop_owner\"} | limit 7 | allow true | " +
            "the shop's data; don't drop | LATIN1 C C | database: search_path=app, \"Mixed Case\", public, statement_timeout=42s ; " +
            "odd \"reader\" role: work_mem=8MB", before);

        var restore = await s.Engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: s.Backup.Id, Target: "shop", Replace: true), CancellationToken.None);

        Assert.Equal(s.AtBackup, await s.Server.PsqlAsync("shop", Fingerprint));
        Assert.Equal(before, await s.Server.PsqlAsync("postgres", Properties("shop")));
        // The safety copy is the replaced database renamed: its properties are its own.
        Assert.Equal(changed, await s.Server.PsqlAsync(restore.SafetyCopy!, Fingerprint));
        Assert.Equal(before, await s.Server.PsqlAsync("postgres", Properties(restore.SafetyCopy!)));
    }

    [PostgresFact]
    public async Task A_swap_failing_on_its_second_rename_leaves_the_target_as_it_was_and_keeps_the_restored_copy()
    {
        await using var s = await BackedUpAndChangedAsync();
        var changed = await s.Server.PsqlAsync("shop", Fingerprint);
        TestProcess? onRestored = null;
        // A session on the restored database just before the swap: the target renames, the restored one cannot.
        s.Engine.RestoreService.Postgres.BeforeSwap = async (temp, _) =>
        {
            onRestored = Session(s.Server, temp, "on_restored", "SELECT pg_sleep(300)");
            await SleepingAsync(s.Server, "on_restored");
        };
        try
        {
            var refused = await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "shop", Replace: true));

            Assert.Equal((409, "Database in use"), (refused.Status, refused.Title));
            var temp = (await s.Server.PsqlAsync("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'shop\\_\\_restoring\\_%'"));
            Assert.StartsWith("shop__restoring_", temp);
            Assert.Contains($"kept as '{temp}'", refused.Message);
            Assert.Equal(changed, await s.Server.PsqlAsync("shop", Fingerprint));
            Assert.Equal(s.AtBackup, await s.Server.PsqlAsync(temp, Fingerprint));
            Assert.Equal($"postgres,shop,{temp},template0,template1", await s.Server.PsqlAsync("postgres", Databases));
            Assert.Equal(RunOutcome.Failed, s.Engine.Restores.GetRestore(refused.Record!.Id)!.Outcome);
        }
        finally
        {
            if (onRestored is not null) await onRestored.DisposeAsync();
        }
    }

    [PostgresFact]
    public async Task A_swap_cancelled_while_it_waits_leaves_the_target_and_the_restored_copy_both_accounted_for()
    {
        await using var s = await BackedUpAndChangedAsync();
        var changed = await s.Server.PsqlAsync("shop", Fingerprint);
        using var cancel = new CancellationTokenSource();
        TestProcess? holder = null;
        Task? cancelling = null;
        // Another transaction holds the target's lock, so the swap waits; it is cancelled while it does. Ended after
        // the restore has answered, the holder must not let a left-over swap go through.
        s.Engine.RestoreService.Postgres.BeforeSwap = async (_, _) =>
        {
            holder = Session(s.Server, "postgres", "holder", "BEGIN; COMMENT ON DATABASE shop IS 'held'; SELECT pg_sleep(300); COMMIT;");
            await SleepingAsync(s.Server, "holder");
            cancelling = Task.Run(async () =>
            {
                await Poll.UntilAsync<bool>(async () => await s.Server.PsqlAsync("postgres",
                        "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE '%RENAME TO%' AND pid <> pg_backend_pid()") == "1" ? true : null,
                    Bound, "swap waiting for the lock");
                await cancel.CancelAsync();
            });
        };
        try
        {
            var refused = await Assert.ThrowsAsync<RestoreProblemException>(() =>
                s.Engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: s.Backup.Id, Target: "shop", Replace: true), cancel.Token));
            await cancelling!;

            Assert.Equal((500, "Restore cancelled"), (refused.Status, refused.Title));
            Assert.Equal("0", await s.Server.PsqlAsync("postgres", "SELECT count(*) FROM pg_stat_activity WHERE query LIKE '%RENAME TO%' AND pid <> pg_backend_pid()"));
            await s.Server.PsqlAsync("postgres", "SELECT pg_terminate_backend(pid, 30000) FROM pg_stat_activity WHERE application_name = 'holder'");
            var temp = await s.Server.PsqlAsync("postgres", "SELECT datname FROM pg_database WHERE datname LIKE 'shop\\_\\_restoring\\_%'");
            Assert.StartsWith("shop__restoring_", temp);
            Assert.Contains($"'shop' is unchanged; the restored copy is kept as '{temp}'", refused.Message);
            Assert.Equal($"postgres,shop,{temp},template0,template1", await s.Server.PsqlAsync("postgres", Databases));
            Assert.Equal(changed, await s.Server.PsqlAsync("shop", Fingerprint));
            Assert.Equal(s.AtBackup, await s.Server.PsqlAsync(temp, Fingerprint));
            Assert.Equal(refused.Message, s.Engine.Restores.GetRestore(refused.Record!.Id)!.Error);
        }
        finally
        {
            if (holder is not null) await holder.DisposeAsync();
        }
    }

    [PostgresFact]
    public async Task An_open_session_on_the_target_is_a_409_that_touches_nothing()
    {
        await using var s = await BackedUpAndChangedAsync();
        var changed = await s.Server.PsqlAsync("shop", Fingerprint);
        await using var session = Session(s.Server, "shop", "app_session", "SELECT pg_sleep(300)");
        await SleepingAsync(s.Server, "app_session");

        var refused = await RefusedAsync(s.Engine, new RestoreRequest(BackupId: s.Backup.Id, Target: "shop", Replace: true));

        Assert.Equal((409, "Database in use"), (refused.Status, refused.Title));
        Assert.Contains("'shop' has 1 open session;", refused.Message);
        Assert.Contains("terminateConnections", refused.Message);
        Assert.Equal(changed, await s.Server.PsqlAsync("shop", Fingerprint));
        Assert.Equal("postgres,shop,template0,template1", await s.Server.PsqlAsync("postgres", Databases));
        Assert.False(session.HasExited);
        Assert.Equal(RunOutcome.Failed, s.Engine.Restores.GetRestore(refused.Record!.Id)!.Outcome);
    }

    [PostgresFact]
    public async Task With_terminateConnections_the_targets_sessions_are_ended_and_the_replace_succeeds()
    {
        await using var s = await BackedUpAndChangedAsync();
        var changed = await s.Server.PsqlAsync("shop", Fingerprint);
        await using var session = Session(s.Server, "shop", "app_session", "SELECT pg_sleep(300)");
        await SleepingAsync(s.Server, "app_session");
        var before = await s.Server.PsqlAsync("postgres", Properties("shop"));

        var restore = await s.Engine.RestoreService.RestoreAsync(
            new RestoreRequest(BackupId: s.Backup.Id, Target: "shop", Replace: true, TerminateConnections: true), CancellationToken.None);

        Assert.NotEqual(0, await session.WaitForExitAsync(Bound));
        Assert.Contains(session.Output, l => l.Contains("terminating connection due to administrator command", StringComparison.Ordinal));
        Assert.Equal(s.AtBackup, await s.Server.PsqlAsync("shop", Fingerprint));
        Assert.Equal(changed, await s.Server.PsqlAsync(restore.SafetyCopy!, Fingerprint));
        // Connections were held off during the swap; both databases accept them again, as before.
        Assert.Equal(before, await s.Server.PsqlAsync("postgres", Properties("shop")));
        Assert.Equal(before, await s.Server.PsqlAsync("postgres", Properties(restore.SafetyCopy!)));
    }

    [PostgresFact]
    public async Task A_client_that_reconnects_at_once_does_not_break_the_swap_and_ends_up_on_the_restored_database()
    {
        await using var s = await BackedUpAndChangedAsync();
        var before = await s.Server.PsqlAsync("postgres", Properties("shop"));
        // An application that reconnects whenever its connection ends (a short pause, as a pool's retry would have).
        var psi = new ProcessStartInfo("sh");
        foreach (var a in new[] { "-c", "while :; do /usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p \"$1\" -U postgres -d shop -At " +
            "-c \"SELECT 'rows ' || count(*) FROM items\" -c 'SELECT pg_sleep(300)'; sleep 0.05; done", "reconnecting", s.Server.Port.ToString() })
            psi.ArgumentList.Add(a);
        await using var client = TestProcess.Start("reconnecting", psi, new Dictionary<string, string?> { ["PGAPPNAME"] = "reconnecting" });
        await client.WaitForOutputAsync(l => l == "rows 250", Bound);
        await SleepingAsync(s.Server, "reconnecting");

        var restore = await s.Engine.RestoreService.RestoreAsync(
            new RestoreRequest(BackupId: s.Backup.Id, Target: "shop", Replace: true, TerminateConnections: true), CancellationToken.None);

        Assert.Equal(s.AtBackup, await s.Server.PsqlAsync("shop", Fingerprint));
        Assert.Equal("shop__before_" + restore.Id[..8], restore.SafetyCopy);
        await client.WaitForOutputAsync(l => l == "rows 500", Bound);
        Assert.Equal(before, await s.Server.PsqlAsync("postgres", Properties("shop")));
        Assert.Equal(before, await s.Server.PsqlAsync("postgres", Properties(restore.SafetyCopy!)));
    }
}
