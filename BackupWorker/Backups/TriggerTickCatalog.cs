using System.Collections.Concurrent;
using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;
using static BackupWorker.Backups.CatalogSql;

namespace BackupWorker.Backups;

/// <summary>
/// Which run backs up each tick of a schedule instance, in the catalog's SQLite file (its own table). Delivery is at
/// least once (a scheduler or sidecar crash redelivers the ticks in flight), so a tick is claimed atomically before it
/// is run and points at its run afterwards: a second delivery of a tick whose run succeeded takes no second copy, one
/// whose run failed is a new attempt (the failure policy's retry), and two worker processes sharing the data
/// directory cannot both run it. A claim names the worker process holding it (<see cref="ClaimOwner"/>), so a claim
/// left by a dead process is taken over at once while one of a live process is waited for.
/// </summary>
public sealed class TriggerTickCatalog
{
    private readonly string _connectionString;
    private readonly ClaimOwner _owner;
    // Claims of deliveries under way in this process: a claim of ours not in here was left by a delivery that ended.
    private readonly ConcurrentDictionary<string, byte> _liveClaims = new(StringComparer.Ordinal);

    public TriggerTickCatalog(BackupPaths paths, ClaimOwner owner)
    {
        Directory.CreateDirectory(paths.DataDirectory);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = paths.CatalogFile, Pooling = false, DefaultTimeout = 30 }.ToString();
        using (var connection = Open(_connectionString))
        {
            Execute(connection, """
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS trigger_ticks(
                  schedule_instance TEXT NOT NULL, tick TEXT NOT NULL, run_id TEXT, succeeded INTEGER NOT NULL DEFAULT 0,
                  claim TEXT, owner TEXT, recorded_at TEXT NOT NULL,
                  PRIMARY KEY(schedule_instance, tick));
                CREATE INDEX IF NOT EXISTS trigger_ticks_by_tick ON trigger_ticks(tick);
                """);
        }
        _owner = owner;
    }

    /// <summary>This worker process's name in claims.</summary>
    public string Owner => _owner.Name;

    /// <summary>
    /// Claims <paramref name="tick"/> of <paramref name="instance"/> for the delivery <paramref name="claim"/> (a fresh
    /// id per delivery; claiming again with the same id is a no-op). <paramref name="runId"/> is the succeeded run when
    /// <see cref="TickClaimResult.AlreadyDone"/>.
    /// </summary>
    public TickClaimResult Claim(string instance, DateTimeOffset tick, string claim, DateTimeOffset now, out string? runId)
    {
        runId = null;
        var key = Format(tick);
        using var connection = Open(_connectionString);
        // Each step is one atomic statement; a lost race (another process changed the row in between) looks again.
        for (var attempt = 0; attempt < 8; attempt++)
        {
            if (Execute(connection, """
                    INSERT INTO trigger_ticks(schedule_instance, tick, claim, owner, recorded_at) VALUES($i, $t, $c, $o, $now)
                    ON CONFLICT(schedule_instance, tick) DO NOTHING
                    """, ("$i", instance), ("$t", key), ("$c", claim), ("$o", Owner), ("$now", Format(now))) == 1)
                return Held(claim);
            if (Read(connection, instance, key) is not { } row) continue; // pruned in between
            if (row.Claim == claim) return Held(claim);
            if (row.Claim is null)
            {
                if (row.Succeeded && row.RunId is not null)
                {
                    runId = row.RunId;
                    return TickClaimResult.AlreadyDone;
                }
                // Its run failed (or its delivery gave up before running): this delivery is a new attempt.
                if (Take(connection, instance, key, claim, expected: null) == 1) return Held(claim);
                continue;
            }
            if (IsLive(row.Owner, row.Claim)) return TickClaimResult.HeldElsewhere;
            if (Take(connection, instance, key, claim, expected: row.Claim) == 1) return Held(claim);
        }
        return TickClaimResult.HeldElsewhere;
    }

    /// <summary>Points the tick at the run made (or found) for it and ends the claim.</summary>
    public void Complete(string instance, DateTimeOffset tick, string claim, string runId, bool succeeded, DateTimeOffset now)
    {
        using var connection = Open(_connectionString);
        Execute(connection, """
            UPDATE trigger_ticks SET run_id = $run, succeeded = $ok, claim = NULL, owner = NULL, recorded_at = $now
            WHERE schedule_instance = $i AND tick = $t AND claim = $c
            """, ("$run", runId), ("$ok", succeeded ? 1 : 0), ("$now", Format(now)), ("$i", instance), ("$t", Format(tick)), ("$c", claim));
        _liveClaims.TryRemove(claim, out _);
    }

    /// <summary>Ends a claim without a run (the delivery was cancelled): the next delivery of the tick runs it.</summary>
    public void Release(string instance, DateTimeOffset tick, string claim)
    {
        try
        {
            using var connection = Open(_connectionString);
            Execute(connection, "UPDATE trigger_ticks SET claim = NULL, owner = NULL WHERE schedule_instance = $i AND tick = $t AND claim = $c",
                ("$i", instance), ("$t", Format(tick)), ("$c", claim));
        }
        finally
        {
            _liveClaims.TryRemove(claim, out _);
        }
    }

    /// <summary>Forgets a tick whose recorded run is gone from the catalog, so it can be claimed anew.</summary>
    public void Forget(string instance, DateTimeOffset tick, string runId)
    {
        using var connection = Open(_connectionString);
        Execute(connection, "DELETE FROM trigger_ticks WHERE schedule_instance = $i AND tick = $t AND claim IS NULL AND run_id = $run",
            ("$i", instance), ("$t", Format(tick)), ("$run", runId));
    }

    /// <summary>
    /// Drops finished tick records older than <paramref name="olderThan"/> or beyond the newest
    /// <paramref name="keepNewest"/>, at most <paramref name="limit"/> per call (the run history's bounds).
    /// </summary>
    public int Prune(DateTimeOffset olderThan, int keepNewest, int limit = 1000)
    {
        using var connection = Open(_connectionString);
        return Execute(connection, """
            DELETE FROM trigger_ticks WHERE rowid IN (
              SELECT rowid FROM trigger_ticks WHERE claim IS NULL
                AND (tick < $cutoff OR rowid NOT IN (SELECT rowid FROM trigger_ticks ORDER BY tick DESC LIMIT $keep))
              LIMIT $limit)
            """, ("$cutoff", Format(olderThan)), ("$keep", Math.Max(keepNewest, 0)), ("$limit", limit));
    }

    /// <summary>How many tick records there are (for tests and diagnostics).</summary>
    public int Count()
    {
        using var connection = Open(_connectionString);
        using var command = Command(connection, "SELECT COUNT(*) FROM trigger_ticks", []);
        return Convert.ToInt32(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
    }

    private TickClaimResult Held(string claim)
    {
        _liveClaims[claim] = 0;
        return TickClaimResult.Claimed;
    }

    private int Take(SqliteConnection connection, string instance, string key, string claim, string? expected) =>
        Execute(connection, $"""
            UPDATE trigger_ticks SET claim = $c, owner = $o
            WHERE schedule_instance = $i AND tick = $t AND succeeded = 0 AND {(expected is null ? "claim IS NULL" : "claim = $old")}
            """, ("$c", claim), ("$o", Owner), ("$i", instance), ("$t", key), ("$old", expected));

    private sealed record Row(string? RunId, bool Succeeded, string? Claim, string? Owner);

    private static Row? Read(SqliteConnection connection, string instance, string key)
    {
        using var command = Command(connection, "SELECT run_id, succeeded, claim, owner FROM trigger_ticks WHERE schedule_instance = $i AND tick = $t",
            [("$i", instance), ("$t", key)]);
        using var reader = command.ExecuteReader();
        return reader.Read() ? new Row(NullableString(reader, 0), reader.GetInt64(1) != 0, NullableString(reader, 2), NullableString(reader, 3)) : null;
    }

    private bool IsLive(string? owner, string claim) => owner == Owner ? _liveClaims.ContainsKey(claim) : _owner.IsOtherAlive(owner);
}
