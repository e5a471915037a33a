using System.Globalization;
using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>
/// Puts a restored temp database in the target's place. One transaction renames the target to its safety copy and the
/// temp to the target, so the target's name always names a whole database, the old one or the restored one. From the
/// moment the swap is sent nothing is dropped: when its outcome is unclear (cancelled, connection lost) the swap's
/// server session is ended first (a killed psql does not stop it) and both databases are then found again by oid, so
/// the restore reports where each one really is.
/// </summary>
internal sealed class PostgresSwap(PostgresTools tools, PostgresServerAddress server, string target, string temp, string? safetyCopy, bool terminateConnections, string id)
{
    /// <summary>Swaps tried when the target still has sessions (ones being ended, or a connection let in just before).</summary>
    public const int MaxAttempts = 3;

    /// <summary>Bound on finding out where the databases are once the swap was interrupted (the request's own token may be cancelled).</summary>
    private static readonly TimeSpan SettleTimeout = TimeSpan.FromSeconds(90);

    // Client sessions only: autovacuum workers are stopped by the rename itself, parallel workers belong to a session.
    private const string SessionsSql = """
        SELECT count(*) FROM pg_stat_activity
        WHERE datname = :'target' AND pid <> pg_backend_pid() AND backend_type IN ('client backend', 'walsender');
        """;

    private const string StateSql = """
        SELECT coalesce((SELECT oid::text FROM pg_database WHERE datname = :'target'), ''),
            coalesce((SELECT oid::text FROM pg_database WHERE datname = :'temp'), ''),
            coalesce((SELECT datallowconn::text FROM pg_database WHERE datname = :'target'), '');
        """;

    // The swap's session ended first (a killed psql does not stop it: it may still wait for a lock, then commit), then
    // where the two databases are, by oid.
    private const string SettleSql = """
        SELECT count(pg_terminate_backend(pid, 30000)) FROM pg_stat_activity WHERE application_name = :'app' AND pid <> pg_backend_pid();
        SELECT count(*) FROM pg_stat_activity WHERE application_name = :'app' AND pid <> pg_backend_pid();
        SELECT coalesce((SELECT datname FROM pg_database WHERE oid = :'target_oid'::oid), '') || '|'
            || coalesce((SELECT datname FROM pg_database WHERE oid = :'temp_oid'::oid), '');

        """;

    // The replaced database's own setting back, when the swap that would have restored it did not commit.
    private const string AllowConnectionsAgainSql = """
        SELECT format('ALTER DATABASE %I ALLOW_CONNECTIONS true', datname) FROM pg_database WHERE oid = :'target_oid'::oid AND NOT datallowconn
        \gexec
        """;

    private string? _targetOid;
    private string _tempOid = "";
    private bool _connectionsDisallowed;

    /// <summary>The swap's session, to be found in pg_stat_activity when its outcome must be settled.</summary>
    private string ApplicationName => "backupworker-swap-" + id[..12];

    private Dictionary<string, string> Variables() => new() { ["target"] = target, ["temp"] = temp, ["safety"] = safetyCopy ?? "" };

    /// <summary>Client sessions connected to <paramref name="target"/>.</summary>
    public static async Task<int> SessionsAsync(PostgresTools tools, PostgresServerAddress server, string target, CancellationToken cancellationToken) =>
        int.Parse(await tools.ScriptAsync(server, SessionsSql, new Dictionary<string, string> { ["target"] = target }, cancellationToken), CultureInfo.InvariantCulture);

    /// <summary>The 409 for a target with sessions, when the request did not ask to end them.</summary>
    public static RestoreProblemException InUse(string target, int sessions) =>
        new(409, "Database in use", $"The database '{target}' has {sessions} open session{(sessions == 1 ? "" : "s")}; it was not replaced. " +
            "Close them, or send terminateConnections: true to have the restore end them.");

    /// <summary>Finds both databases; refuses (409) while the target has sessions and they are not to be ended. Changes nothing.</summary>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        var state = (await tools.ScriptAsync(server, StateSql, Variables(), cancellationToken)).Split('|');
        if (state is not [var targetOid, var tempOid, var allowsConnections] || tempOid.Length == 0)
            throw new RestoreProblemException(500, "Restore failed", $"The restored database '{temp}' is missing; '{target}' was not replaced.");
        if (safetyCopy is not null && targetOid.Length == 0)
            throw new RestoreProblemException(409, "Target changed", $"The database '{target}' no longer exists; nothing was replaced.");
        _targetOid = targetOid.Length == 0 ? null : targetOid;
        _tempOid = tempOid;
        if (safetyCopy is null) return;
        if (!terminateConnections && await SessionsAsync(tools, server, target, cancellationToken) is > 0 and var sessions) throw InUse(target, sessions);
        _connectionsDisallowed = terminateConnections && allowsConnections == "true";
    }

    /// <summary>Swaps; returns the safety copy's name. Throws with where each database is when the swap did not happen.</summary>
    public async Task<string?> RunAsync(CancellationToken cancellationToken)
    {
        try
        {
            // Committed before the swap, so no session ended there can come back before the rename; the swap itself
            // gives the safety copy its own setting back (and a swap that fails, SettleAsync).
            if (_connectionsDisallowed) await tools.ScriptAsync(server, """ALTER DATABASE :"target" ALLOW_CONNECTIONS false;""", Variables(), cancellationToken);
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await tools.ScriptAsync(server, SwapScript(), Variables(), cancellationToken, applicationName: ApplicationName);
                    return safetyCopy;
                }
                // An error before COMMIT (psql stops there) rolled the whole swap back: trying again is safe.
                catch (PostgresSqlException e) when (terminateConnections && attempt < MaxAttempts && IsInUse(e)) { }
            }
        }
        catch (Exception e) when (e is PostgresSqlException or PostgresUnavailableException or OperationCanceledException)
        {
            return await SettleAsync(e);
        }
    }

    private string SwapScript()
    {
        var script = new List<string> { "BEGIN;" };
        if (terminateConnections)
        {
            script.Add("SELECT count(pg_terminate_backend(pid, 10000)) FROM pg_stat_activity " +
                "WHERE datname = :'target' AND pid <> pg_backend_pid() AND backend_type IN ('client backend', 'walsender');");
        }
        if (safetyCopy is not null) script.Add("""ALTER DATABASE :"target" RENAME TO :"safety";""");
        if (_connectionsDisallowed) script.Add("""ALTER DATABASE :"safety" ALLOW_CONNECTIONS true;""");
        script.Add("""ALTER DATABASE :"temp" RENAME TO :"target";""");
        script.Add("COMMIT;");
        return string.Join('\n', script);
    }

    private static bool IsInUse(PostgresSqlException e) => e.Message.Contains("is being accessed by other users", StringComparison.Ordinal);

    /// <summary>
    /// Ends the swap's session if it still runs, then reads where both databases are: a swap that committed is a
    /// success whatever interrupted the client; one that did not leaves the target as it was and keeps the restored copy.
    /// </summary>
    private async Task<string?> SettleAsync(Exception failure)
    {
        var settle = SettleSql + (_connectionsDisallowed ? AllowConnectionsAgainSql : "");
        var variables = Variables();
        variables["app"] = ApplicationName;
        variables["target_oid"] = _targetOid ?? "0";
        variables["temp_oid"] = _tempOid;
        string[] lines;
        try
        {
            using var bound = new CancellationTokenSource(SettleTimeout);
            lines = (await tools.ScriptAsync(server, settle, variables, bound.Token)).Split('\n');
        }
        catch (Exception e) when (e is PostgresSqlException or PostgresUnavailableException or OperationCanceledException)
        {
            throw Unknown(failure, $"where the databases are could not be read ({e.Message})");
        }
        if (lines is not [_, var left, var names] || left != "0" || names.Split('|') is not [var oldName, var restoredName])
            throw Unknown(failure, "the swap's session did not end");
        var oldUnchanged = _targetOid is null ? oldName.Length == 0 : oldName == target;
        if (restoredName == target && (safetyCopy is null || oldName == safetyCopy)) return safetyCopy;
        if (restoredName == temp && oldUnchanged) throw NotSwapped(failure);
        throw Unknown(failure, $"the replaced database is now named '{oldName}' and the restored one '{restoredName}'");
    }

    private RestoreProblemException NotSwapped(Exception failure)
    {
        var kept = $"'{target}' is unchanged; the restored copy is kept as '{temp}' (rename or drop it).";
        return failure switch
        {
            PostgresSqlException e when IsInUse(e) => new RestoreProblemException(409, "Database in use", $"The swap could not be made: {e.Message} {kept}"),
            PostgresSqlException e => new RestoreProblemException(422, "PostgreSQL refused the restore", $"The swap could not be made: {e.Message} {kept}"),
            PostgresUnavailableException e => new RestoreProblemException(503, "PostgreSQL unavailable", $"{e.Message} {kept}"),
            _ => new RestoreProblemException(500, "Restore cancelled", $"The restore was cancelled or ran out of time during the swap. {kept}"),
        };
    }

    private RestoreProblemException Unknown(Exception failure, string why) =>
        new(500, "Restore outcome unknown", $"The swap of '{target}' was interrupted ({failure.Message}) and {why}. Nothing was dropped: " +
            $"see which of '{target}', '{temp}'{(safetyCopy is null ? "" : $" and '{safetyCopy}'")} exist.");
}
