using System.Security.Cryptography;
using BackupWorker.Backups;
using Microsoft.Data.Sqlite;

namespace BackupWorker.Restore;

/// <summary>The file work of a SQLite restore: checksum checks, verified copies, safety copies.</summary>
public static class SqliteRestoreFiles
{
    /// <summary>Refuses (422) a backup whose file is gone or whose SHA-256 no longer matches the one recorded. Reads only.</summary>
    public static async Task VerifyChecksumAsync(BackupRun backup, CancellationToken cancellationToken)
    {
        if (backup.File is null || !File.Exists(backup.File))
            throw new RestoreProblemException(422, "Backup file missing", $"The file of backup {backup.Id} ('{backup.File}') no longer exists.");
        if (backup.Checksum is null)
            throw new RestoreProblemException(422, "Backup has no checksum", $"Backup {backup.Id} has no recorded checksum to verify it with.");
        string actual;
        await using (var stream = new FileStream(backup.File, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            actual = Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
        if (actual != backup.Checksum)
            throw new RestoreProblemException(422, "Backup checksum mismatch",
                $"Backup {backup.Id} ('{backup.File}') has SHA-256 {actual}, not the {backup.Checksum} recorded when it was taken: it was changed or damaged and is not used.");
    }

    /// <summary>
    /// Copies the backup into a new private file, hashing what it reads (the file may change after the first check),
    /// fsyncs it and refuses (422, the copy deleted) when the hash is not the recorded one.
    /// </summary>
    public static async Task CopyVerifiedAsync(BackupRun backup, string destination, CancellationToken cancellationToken)
    {
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var to = BackupFiles.CreatePrivate(destination, FileShare.None))
            await using (var from = new FileStream(backup.File!, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
            {
                var buffer = new byte[1 << 20];
                int read;
                while ((read = await from.ReadAsync(buffer, cancellationToken)) > 0)
                {
                    hash.AppendData(buffer, 0, read);
                    await to.WriteAsync(buffer.AsMemory(0, read), cancellationToken);
                }
                to.Flush(flushToDisk: true);
            }
            if (Convert.ToHexStringLower(hash.GetHashAndReset()) != backup.Checksum)
                throw new RestoreProblemException(422, "Backup checksum mismatch", $"Backup {backup.Id} changed while it was being restored; the copy is discarded.");
        }
        catch
        {
            TryDelete(destination);
            throw;
        }
    }

    /// <summary>A consistent copy (SQLite online backup) of the live file into a new private file, fsynced, in rollback-journal mode.</summary>
    public static void SafetyCopy(string live, string copy)
    {
        try
        {
            using (BackupFiles.CreatePrivate(copy)) { }
            using (var from = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = live, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString()))
            using (var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ToString()))
            {
                from.Open();
                to.Open();
                from.BackupDatabase(to);
                // A copy of a WAL database is marked WAL; as a rollback-journal file it stands alone, without -wal/-shm.
                using var journal = to.CreateCommand();
                journal.CommandText = "PRAGMA journal_mode=DELETE";
                journal.ExecuteNonQuery();
            }
            using var sync = new FileStream(copy, FileMode.Open, FileAccess.ReadWrite);
            sync.Flush(flushToDisk: true);
        }
        catch
        {
            DeleteDatabaseFile(copy);
            throw;
        }
    }

    /// <summary>A SQLite file of ours and the journal files SQLite may have left beside it.</summary>
    public static void DeleteDatabaseFile(string file)
    {
        foreach (var suffix in (string[])["", "-journal", "-wal", "-shm"]) TryDelete(file + suffix);
    }

    public static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
