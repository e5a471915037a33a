using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace BackupWorker.Restore;

/// <summary>
/// A restore over an existing SQLite file: the verified copy is written INTO the live file through SQLite's online
/// backup API on a connection to it (what <c>sqlite3 live.db ".restore copy.db"</c> does), never renamed over it, so
/// SQLite's own locks and WAL keep every other connection consistent and the file keeps its inode, mode and owner.
/// The write lock is waited for at most <paramref name="lockTimeout"/> (then 409, nothing touched); what is replaced
/// is copied first, while no other writer can commit; the result is checked and, when damaged, put back.
/// </summary>
internal sealed class SqliteLiveRestore(string live, string copy, string safetyCopy, TimeSpan lockTimeout, ILogger logger, string restoreId)
{
    // Putting the safety copy back after a failed check waits this many times the lock timeout for the write lock:
    // a damaged live database must not stay because a writer was busy for a moment.
    private const int PutBackAttempts = 10;

    /// <summary>
    /// Restores <c>copy</c> over <c>live</c>, keeping <c>safetyCopy</c>. <paramref name="recorded"/>: the manifest
    /// recorded when the backup was taken, if there is one; the copy must match it before anything is written.
    /// </summary>
    public void Run(DatabaseManifest? recorded, CancellationToken cancellationToken)
    {
        var expected = PrepareCopy(recorded);
        using var source = Open(copy, SqliteOpenMode.ReadOnly);
        using var target = OpenLive();
        bool wal;
        long livePageSize;
        try
        {
            wal = string.Equals(Scalar<string>(target, "PRAGMA journal_mode"), "wal", StringComparison.OrdinalIgnoreCase);
            livePageSize = Scalar<long>(target, "PRAGMA page_size");
        }
        catch (SqliteException e) when (e.SqliteErrorCode is raw.SQLITE_BUSY or raw.SQLITE_LOCKED)
        {
            throw InUse();
        }
        if (wal && Scalar<long>(source, "PRAGMA page_size") is var backupPageSize && backupPageSize != livePageSize)
        {
            // SQLite's backup API answers SQLITE_READONLY for this; say why instead.
            throw new RestoreProblemException(409, "Page size differs",
                $"The backup uses {backupPageSize}-byte pages and '{live}', in WAL mode, {livePageSize}-byte pages; SQLite cannot write a backup into a WAL database with another page size. " +
                "Nothing was changed. Restore into a new file instead and move it into place while the database is not in use.");
        }

        // Another writer commits before the safety copy or after the restore, not in between (in rollback-journal
        // mode, see Check). The data version (changed only by other connections' commits) read under the lock tells
        // the check afterwards whether it reads the restored state or someone's later writes.
        Refuse(raw.sqlite3_exec(target.Handle, "BEGIN IMMEDIATE"), target);
        long baseline;
        var copied = false;
        try
        {
            // In rollback-journal mode the backup below takes an EXCLUSIVE lock that no reader gets past, so the copy
            // is taken here, under this transaction's RESERVED lock (readers still read; no one else commits).
            if (!wal) TakeSafetyCopy(ref copied);
            baseline = Scalar<long>(target, "PRAGMA data_version");
            // No writes were made: committing releases the lock without touching the file.
            Refuse(raw.sqlite3_exec(target.Handle, "COMMIT"), target);
        }
        catch
        {
            raw.sqlite3_exec(target.Handle, "ROLLBACK");
            if (copied) SqliteRestoreFiles.TryDelete(safetyCopy);
            throw;
        }

        var writing = false;
        try
        {
            var backup = raw.sqlite3_backup_init(target.Handle, "main", source.Handle, "main");
            if (backup is null)
                throw new RestoreProblemException(500, "Restore failed", $"SQLite could not start restoring into '{live}': {raw.sqlite3_errmsg(target.Handle).utf8_to_string()}");
            try
            {
                // A step of no pages takes the destination's write lock (within the busy timeout) and copies nothing.
                var rc = raw.sqlite3_backup_step(backup, 0);
                Refuse(rc, target);
                // In WAL mode readers read past the lock held now: the copy is exactly what is about to be replaced.
                if (wal) TakeSafetyCopy(ref copied);
                cancellationToken.ThrowIfCancellationRequested();
                writing = true;
                // One step: the whole copy under the destination's lock, committed atomically by SQLite.
                rc = raw.sqlite3_backup_step(backup, -1);
                if (rc != raw.SQLITE_DONE)
                {
                    var busy = (rc & 0xFF) is raw.SQLITE_BUSY or raw.SQLITE_LOCKED;
                    throw new RestoreProblemException(busy ? 409 : 500, busy ? "Database in use" : "Restore failed",
                        $"Writing the backup into '{live}' failed ({raw.sqlite3_errstr(rc).utf8_to_string()}); SQLite rolled it back, the database is as it was. The safety copy is at '{safetyCopy}'.");
                }
            }
            finally
            {
                // Before a finished step this rolls the destination's transaction back: nothing was written.
                raw.sqlite3_backup_finish(backup);
            }
        }
        catch
        {
            // Refused or stopped before anything was written: the live file is as it was and the copy protects
            // nothing, so it is removed (kept, every retried refusal would leave another whole-database copy).
            // Once writing has started it is kept whatever happened.
            if (copied && !writing) SqliteRestoreFiles.TryDelete(safetyCopy);
            throw;
        }
        Written?.Invoke();
        Check(target, baseline, expected, wal);
    }

    /// <summary>Called once the restore is committed, before it is checked (tests damage the file there).</summary>
    internal Action? Written { get; init; }

    /// <summary>
    /// Makes the copy a rollback-journal file (so the live file keeps its own journal mode: SQLite marks a WAL
    /// destination WAL again) and returns its manifest, refused (422) when it is not the one recorded at backup time.
    /// </summary>
    private DatabaseManifest PrepareCopy(DatabaseManifest? recorded)
    {
        using (var connection = Open(copy, SqliteOpenMode.ReadWrite))
            Scalar<string>(connection, "PRAGMA journal_mode=DELETE");
        var manifest = DatabaseManifests.ReadSqlite(copy);
        if (recorded?.Differences(manifest) is { Count: > 0 } differences)
            throw new RestoreProblemException(422, "Backup does not match its manifest",
                $"The backup holds other contents than were recorded when it was taken ({string.Join("; ", differences)}); it is not restored and '{live}' is untouched.");
        return manifest;
    }

    private void TakeSafetyCopy(ref bool copied)
    {
        SqliteRestoreFiles.SafetyCopy(live, safetyCopy);
        copied = true;
    }

    /// <summary>
    /// <c>PRAGMA integrity_check</c> and the manifest of the live file, read from disk by a new connection. A damaged
    /// file, or one that differs from the backup while no one else has committed since the restore, is put back from
    /// the safety copy and the restore fails. A difference after another connection's commit is that writer's work,
    /// not damage, and is logged.
    /// </summary>
    private void Check(SqliteConnection target, long baseline, DatabaseManifest expected, bool wal)
    {
        string? damage = null;
        IReadOnlyList<string> differences = [];
        try
        {
            if (IntegrityProblems(live) is not ["ok"] and var problems)
                damage = $"failed PRAGMA integrity_check ({string.Join("; ", problems.Take(10))})";
            else
                differences = expected.Differences(DatabaseManifests.ReadSqlite(live));
        }
        catch (SqliteException e) when (e.SqliteErrorCode is raw.SQLITE_CORRUPT or raw.SQLITE_NOTADB)
        {
            damage = $"cannot be read ({e.Message})";
        }
        // Read last: unchanged means no other connection committed from before the restore until after the check.
        var untouched = Scalar<long>(target, "PRAGMA data_version") == baseline;
        if (damage is not null) PutBack(damage);
        if (differences.Count > 0)
        {
            if (untouched) PutBack($"does not hold what the backup holds ({string.Join("; ", differences)})");
            logger.RestoredFileWrittenSince(restoreId, live, string.Join("; ", differences));
        }
        // In rollback-journal mode the safety copy is taken before the lock is handed to the backup: a commit in
        // that moment would be in neither file. Whether one came then or after the restore cannot be told apart.
        if (!untouched && !wal) logger.RestoreRacedWriter(restoreId, live, safetyCopy);
    }

    /// <summary>Writes the safety copy back into the live file the same way, then fails the restore (500) saying so.</summary>
    [System.Diagnostics.CodeAnalysis.DoesNotReturn]
    private void PutBack(string problem)
    {
        try
        {
            using var source = Open(safetyCopy, SqliteOpenMode.ReadOnly);
            using var target = OpenLive();
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    source.BackupDatabase(target);
                    break;
                }
                catch (SqliteException e) when (e.SqliteErrorCode is raw.SQLITE_BUSY or raw.SQLITE_LOCKED && attempt < PutBackAttempts) { }
            }
            if (IntegrityProblems(live) is not ["ok"] and var after)
                throw new InvalidOperationException("the database put back fails PRAGMA integrity_check too: " + string.Join("; ", after.Take(10)));
        }
        catch (Exception e) when (e is SqliteException or InvalidOperationException)
        {
            logger.RestorePutBackFailed(restoreId, live, problem, safetyCopy, e.Message);
            throw new RestoreProblemException(500, "Restored database failed its check",
                $"After the restore '{live}' {problem}, and putting back what it held before failed ({e.Message}): copy the safety copy '{safetyCopy}' back while the database is not in use.");
        }
        logger.RestorePutBack(restoreId, live, problem, safetyCopy);
        throw new RestoreProblemException(500, "Restored database failed its check",
            $"After the restore '{live}' {problem}; what it held before was put back from the safety copy '{safetyCopy}', which is kept.");
    }

    private static List<string> IntegrityProblems(string file)
    {
        using var connection = Open(file, SqliteOpenMode.ReadOnly);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        using var reader = command.ExecuteReader();
        var problems = new List<string>();
        while (reader.Read()) problems.Add(reader.GetString(0));
        return problems;
    }

    /// <summary>409 when the live file's lock could not be had within the lock timeout; other failures as they are.</summary>
    private void Refuse(int rc, SqliteConnection target)
    {
        if (rc == raw.SQLITE_OK) return;
        // Extended codes (SQLITE_BUSY_SNAPSHOT, ...) carry the primary one in their low byte.
        if ((rc & 0xFF) is raw.SQLITE_BUSY or raw.SQLITE_LOCKED) throw InUse();
        throw new RestoreProblemException(500, "Restore failed", $"SQLite refused to restore into '{live}': {raw.sqlite3_errmsg(target.Handle).utf8_to_string()}");
    }

    /// <summary>
    /// The live file, never created: SQLite's busy timeout bounds every wait for its locks (the backup API's too),
    /// and the command timeout, which retries on top of it, is the same.
    /// </summary>
    private SqliteConnection OpenLive()
    {
        var connection = Open(live, SqliteOpenMode.ReadWrite, (int)Math.Max(1, Math.Ceiling(lockTimeout.TotalSeconds)));
        raw.sqlite3_busy_timeout(connection.Handle, (int)Math.Clamp(lockTimeout.TotalMilliseconds, 1, int.MaxValue));
        return connection;
    }

    private RestoreProblemException InUse() => new(409, "Database in use",
        $"'{live}' is being written: its lock was not free within {lockTimeout.TotalSeconds:0.###} s (Backup:RestoreLockTimeout). Nothing was changed; retry when its writers are idle.");

    private static SqliteConnection Open(string file, SqliteOpenMode mode, int commandTimeoutSeconds = 30)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = mode, Pooling = false, DefaultTimeout = commandTimeoutSeconds }.ToString());
        connection.Open();
        return connection;
    }

    private static T Scalar<T>(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return (T)command.ExecuteScalar()!;
    }
}
