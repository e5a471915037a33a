using BackupWorker.Hosting;
using BackupWorker.Repositories;
using Microsoft.Data.Sqlite;
using static BackupWorker.Backups.CatalogSql;
using Shared;

namespace BackupWorker.Backups;

/// <summary>
/// Each backup's copies in the object repositories its schedule names, in the catalog's SQLite file (its own table):
/// what was uploaded (key, sizes, both checksums, format), how far it got, and when it is tried again. Worker replicas
/// share the catalog, so an attempt at a copy first claims its row for this process (<see cref="TryClaim"/>), and every
/// change the attempt makes holds only while its claim does: two processes never upload the same copy at once, and
/// one's late result never overwrites what the other recorded. A claim of a process that died is taken over at once.
/// </summary>
public sealed class RepositoryCopyCatalog
{
    private const string Unfinished = "state IN ('Pending', 'Copied')";
    private readonly string _connectionString;
    private readonly ClaimOwner _owner;

    public RepositoryCopyCatalog(BackupPaths paths, ClaimOwner owner)
    {
        Directory.CreateDirectory(paths.DataDirectory);
        _connectionString = new SqliteConnectionStringBuilder { DataSource = paths.CatalogFile, Pooling = false, DefaultTimeout = 30 }.ToString();
        using (var connection = Open(_connectionString))
        {
            Execute(connection, "PRAGMA journal_mode=WAL");
            Migrate(connection, () => CreateOrUpgrade(connection));
        }
        _owner = owner;
    }

    /// <summary>Also run by <see cref="BackupCatalog"/>, whose backup and history queries look into this table.</summary>
    internal static void CreateOrUpgrade(SqliteConnection connection)
    {
        Execute(connection, """
            CREATE TABLE IF NOT EXISTS repository_copies(
              run_id TEXT NOT NULL, repository TEXT NOT NULL, state TEXT NOT NULL, key TEXT,
              stored_bytes INTEGER, original_bytes INTEGER, stored_sha256 TEXT, original_sha256 TEXT, compression TEXT, encrypted INTEGER,
              attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, error TEXT, verified_at TEXT, updated_at TEXT NOT NULL, claim_owner TEXT,
              PRIMARY KEY(run_id, repository));
            CREATE INDEX IF NOT EXISTS repository_copies_by_state ON repository_copies(state, next_attempt_at);
            """);
        // Catalogs written before claims: no row is claimed.
        if (!HasColumn(connection, "repository_copies", "claim_owner")) Execute(connection, "ALTER TABLE repository_copies ADD COLUMN claim_owner TEXT");
    }

    /// <summary>
    /// Records that <paramref name="runId"/> is to be copied into each of <paramref name="repositories"/>, due now and
    /// claimed by this process, whose run goes on to make them.
    /// </summary>
    public void AddPending(string runId, IEnumerable<string> repositories, DateTimeOffset now)
    {
        using var connection = Open(_connectionString);
        foreach (var repository in repositories)
            Execute(connection, """
                INSERT INTO repository_copies(run_id, repository, state, next_attempt_at, updated_at, claim_owner) VALUES($run, $repo, 'Pending', $now, $now, $me)
                ON CONFLICT(run_id, repository) DO NOTHING
                """, ("$run", runId), ("$repo", repository), ("$now", Format(now)), ("$me", _owner.Name));
    }

    /// <summary>
    /// Claims the copy for one attempt by this process: false if it is not to be made (no such copy, verified, failed,
    /// pruned) or another live process is at it. A claim of this process is taken again: within one process
    /// <see cref="RepositoryCopier"/> keeps the attempts at a copy one at a time.
    /// </summary>
    public bool TryClaim(string runId, string repository)
    {
        using var connection = Open(_connectionString);
        // Each step is one atomic statement; a lost race (another process took the row in between) looks again.
        for (var attempt = 0; attempt < 4; attempt++)
        {
            using var read = Command(connection, $"SELECT claim_owner FROM repository_copies WHERE run_id = $run AND repository = $repo AND {Unfinished}",
                [("$run", runId), ("$repo", repository)]);
            if (read.ExecuteScalar() is not { } value) return false;
            var holder = value as string;
            if (_owner.IsOtherAlive(holder)) return false;
            if (Execute(connection, $"""
                    UPDATE repository_copies SET claim_owner = $me WHERE run_id = $run AND repository = $repo AND {Unfinished} AND claim_owner IS $holder
                    """, ("$run", runId), ("$repo", repository), ("$me", _owner.Name), ("$holder", holder)) == 1)
                return true;
        }
        return false;
    }

    /// <summary>Ends this process's claim, if it still holds one (an attempt that ended without recording how).</summary>
    public void Release(string runId, string repository)
    {
        using var connection = Open(_connectionString);
        Execute(connection, "UPDATE repository_copies SET claim_owner = NULL WHERE run_id = $run AND repository = $repo AND claim_owner = $me",
            ("$run", runId), ("$repo", repository), ("$me", _owner.Name));
    }

    /// <summary>Uploaded: what the repository now holds under its key, not yet read back. False if the claim was lost.</summary>
    public bool SetCopied(string runId, string repository, RepositoryObject stored, DateTimeOffset now) => Claimed(runId, repository, """
        state='Copied', key=$key, stored_bytes=$sb, original_bytes=$ob, stored_sha256=$ss, original_sha256=$os,
        compression=$c, encrypted=$e, next_attempt_at=NULL, error=NULL, updated_at=$now
        """, now, ("$key", stored.Key), ("$sb", stored.StoredBytes), ("$ob", stored.OriginalBytes), ("$ss", stored.StoredSha256),
        ("$os", stored.OriginalSha256), ("$c", stored.Compression), ("$e", stored.Encrypted ? 1 : 0));

    /// <summary>Read back and matching; the claim ends. False if the claim was lost.</summary>
    public bool SetVerified(string runId, string repository, DateTimeOffset now) => Claimed(runId, repository,
        "state='Verified', next_attempt_at=NULL, error=NULL, verified_at=$now, updated_at=$now, claim_owner=NULL", now);

    /// <summary>Not there: tried again at <paramref name="next"/>, after <paramref name="attempts"/> attempts; the claim ends.</summary>
    public bool SetPending(string runId, string repository, string error, int attempts, DateTimeOffset next, DateTimeOffset now) => Claimed(runId, repository,
        "state='Pending', error=$error, attempts=$attempts, next_attempt_at=$next, updated_at=$now, claim_owner=NULL", now,
        ("$error", error), ("$attempts", attempts), ("$next", Format(next)));

    /// <summary>It will not be made; the claim ends.</summary>
    public bool SetFailed(string runId, string repository, string error, int attempts, DateTimeOffset now) => Claimed(runId, repository,
        "state='Failed', error=$error, attempts=$attempts, next_attempt_at=NULL, updated_at=$now, claim_owner=NULL", now,
        ("$error", error), ("$attempts", attempts));

    /// <summary>Recorded before the object goes: a stop in between leaves an unlisted object, never a listed copy without one.</summary>
    public void SetPruned(string runId, string repository, DateTimeOffset now)
    {
        using var connection = Open(_connectionString);
        Execute(connection, "UPDATE repository_copies SET state='Pruned', next_attempt_at=NULL, updated_at=$now WHERE run_id=$run AND repository=$repo",
            ("$run", runId), ("$repo", repository), ("$now", Format(now)));
    }

    private bool Claimed(string runId, string repository, string set, DateTimeOffset now, params (string, object?)[] values)
    {
        using var connection = Open(_connectionString);
        return Execute(connection, $"UPDATE repository_copies SET {set} WHERE run_id=$run AND repository=$repo AND {Unfinished} AND claim_owner=$me",
            [("$run", runId), ("$repo", repository), ("$me", _owner.Name), ("$now", Format(now)), .. values]) == 1;
    }

    /// <summary>The copies of one backup, by repository name.</summary>
    public IReadOnlyList<RepositoryCopy> List(string runId) => Query("WHERE run_id = $run ORDER BY repository", ("$run", runId)).Select(r => r.Copy).ToList();

    /// <summary>The stored object of a copy (null unless it was uploaded), for reading it back.</summary>
    public RepositoryObject? StoredObject(string runId, string repository) =>
        Query("WHERE run_id = $run AND repository = $repo", ("$run", runId), ("$repo", repository)).FirstOrDefault().Stored;

    public RepositoryCopy? Get(string runId, string repository) =>
        Query("WHERE run_id = $run AND repository = $repo", ("$run", runId), ("$repo", repository)).FirstOrDefault().Copy;

    /// <summary>Copies not yet verified whose next attempt is due by <paramref name="now"/>, oldest first.</summary>
    public IReadOnlyList<(string RunId, RepositoryCopy Copy)> ListDue(DateTimeOffset now) =>
        Query($"WHERE {Unfinished} AND (next_attempt_at IS NULL OR next_attempt_at <= $now) ORDER BY next_attempt_at, run_id", ("$now", Format(now)))
            .Select(r => (r.RunId, r.Copy)).ToList();

    /// <summary>Copies still to be made (pending or copied, not verified): their local file is what they are made from.</summary>
    public bool HasUnfinished(string runId)
    {
        using var connection = Open(_connectionString);
        using var command = Command(connection, $"SELECT count(*) FROM repository_copies WHERE run_id = $run AND {Unfinished}", [("$run", runId)]);
        return Convert.ToInt64(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture) > 0;
    }

    /// <summary>
    /// The runs' copies attached: <see cref="BackupRun.Copies"/> lists the local copy and each object repository's, and
    /// <see cref="BackupRun.Complete"/> says whether the backup reached every repository its run was to go to.
    /// </summary>
    public IReadOnlyList<BackupRun> Attach(IReadOnlyList<BackupRun> runs) => runs.Select(Attach).ToList();

    public BackupRun Attach(BackupRun run)
    {
        if (run.Outcome != RunOutcome.Succeeded) return run;
        var local = new RepositoryCopy(RepositoryListRules.Local, run.PrunedAt is null ? CopyState.Verified : CopyState.Pruned, run.File, run.Bytes,
            "none", false, 1, null, null, run.EndedAt, run.PrunedAt ?? run.EndedAt ?? run.StartedAt);
        var copies = List(run.Id);
        return run with { Copies = [local, .. copies], Complete = copies.All(c => c.State is CopyState.Verified or CopyState.Pruned) };
    }

    private List<(string RunId, RepositoryCopy Copy, RepositoryObject? Stored)> Query(string where, params (string, object?)[] parameters)
    {
        using var connection = Open(_connectionString);
        using var command = Command(connection, """
            SELECT run_id, repository, state, key, stored_bytes, original_bytes, stored_sha256, original_sha256, compression, encrypted,
              attempts, next_attempt_at, error, verified_at, updated_at FROM repository_copies
            """ + " " + where, parameters);
        using var reader = command.ExecuteReader();
        var list = new List<(string, RepositoryCopy, RepositoryObject?)>();
        while (reader.Read())
        {
            var key = NullableString(reader, 3);
            bool? encrypted = reader.IsDBNull(9) ? null : reader.GetInt64(9) != 0;
            var copy = new RepositoryCopy(reader.GetString(1), Enum.Parse<CopyState>(reader.GetString(2)), key,
                reader.IsDBNull(4) ? null : reader.GetInt64(4), NullableString(reader, 8), encrypted, reader.GetInt32(10),
                reader.IsDBNull(11) ? null : Parse(reader.GetString(11)), NullableString(reader, 12),
                reader.IsDBNull(13) ? null : Parse(reader.GetString(13)), Parse(reader.GetString(14)));
            var stored = key is null || reader.IsDBNull(4) ? null
                : new RepositoryObject(key, reader.GetInt64(4), reader.GetInt64(5), reader.GetString(6), reader.GetString(7), reader.GetString(8), encrypted ?? false);
            list.Add((reader.GetString(0), copy, stored));
        }
        return list;
    }
}
