using System.Security.Cryptography;
using BackupWorker.Backups;
using BackupWorker.Restore;
using Microsoft.Data.Sqlite;

namespace BackupWorker.Tests;

/// <summary>
/// A replace restore into a SQLite file other connections have open: written through SQLite's backup API and locks,
/// refused while the write lock is held, never a renamed file. File modes and POSIX locks: not on Windows.
/// </summary>
[System.Runtime.Versioning.UnsupportedOSPlatform("windows")]
public class SqliteLiveRestoreTests
{
    private static readonly BackupMetadata Demo = new("my-prod-db", "backups/my-prod-db");

    // Rows the test writer adds are customers from this id on; everything below is the backup's or the change's.
    private const long WriterIds = 1_000_000;

    private static readonly UnixFileMode Mode0644 = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.GroupRead | UnixFileMode.OtherRead;

    private static SqliteConnection Open(string file)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Pooling = false }.ToString());
        connection.Open();
        return connection;
    }

    private static string Scalar(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return Convert.ToString(command.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture)!;
    }

    private static void Execute(string file, string sql)
    {
        using var connection = Open(file);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static string Pragma(string file, string pragma)
    {
        using var connection = Open(file);
        return Scalar(connection, "PRAGMA " + pragma);
    }

    /// <summary>The demo database in <paramref name="journalMode"/>, 0644, backed up, then changed.</summary>
    private static async Task<(EngineFixture Engine, string Live, BackupRun Backup, List<string> AtBackup, List<string> Changed)> LiveDatabaseAsync(
        string journalMode, TimeSpan lockTimeout)
    {
        var engine = new EngineFixture(o => o.RestoreLockTimeout = lockTimeout);
        var live = engine.SeedDemoDatabase();
        Execute(live, $"PRAGMA journal_mode={journalMode}");
        File.SetUnixFileMode(live, Mode0644);
        var backup = await engine.Runner.RunAsync("prod-db-backup", Demo, "job", CancellationToken.None);
        Assert.True(backup.Outcome == RunOutcome.Succeeded, backup.Error);
        var atBackup = SqliteRows.Dump(live);
        Execute(live, "DELETE FROM orders WHERE customer_id > 10; UPDATE customers SET name = 'changed' WHERE id = 1; INSERT INTO customers(id, name, email, created_at) VALUES(999, 'new', 'new@example.com', 'now')");
        var changed = SqliteRows.Dump(live);
        Assert.NotEqual(atBackup, changed);
        return (engine, live, backup, atBackup, changed);
    }

    private static List<string> Integrity(string file)
    {
        using var connection = Open(file);
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check";
        using var reader = command.ExecuteReader();
        var result = new List<string>();
        while (reader.Read()) result.Add(reader.GetString(0));
        return result;
    }

    // Hashed only while no connection of this process has the file open: closing another descriptor of a file
    // drops the POSIX locks SQLite holds on it.
    private static string Sha256(string file) => Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(file)));

    private static List<long> WriterRowIds(string file)
    {
        using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = file, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT id - {WriterIds} FROM customers WHERE id >= {WriterIds} ORDER BY id";
        using var reader = command.ExecuteReader();
        var ids = new List<long>();
        while (reader.Read()) ids.Add(reader.GetInt64(0));
        return ids;
    }

    private static List<string> WithoutWriterRows(List<string> rows) =>
        rows.Where(r => !(r.StartsWith("customers:", StringComparison.Ordinal) && long.Parse(r["customers:".Length..].Split('|')[0], System.Globalization.CultureInfo.InvariantCulture) >= WriterIds)).ToList();

    [Fact]
    public async Task A_replace_while_a_WAL_writer_commits_keeps_the_file_whole_and_every_commit_is_in_the_safety_copy_or_the_restored_database()
    {
        var (engine, live, backup, atBackup, changed) = await LiveDatabaseAsync("wal", TimeSpan.FromSeconds(30));
        using var _ = engine;
        using var writer = new SqliteLiveRestoreWriter(live, WriterIds);
        await writer.Committed(20).WaitAsync(TimeSpan.FromSeconds(60));

        var restore = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Replace: true), CancellationToken.None);

        // The writer goes on committing into the restored database.
        var atReturn = writer.Count;
        await writer.Committed(atReturn + 20).WaitAsync(TimeSpan.FromSeconds(60));
        var committed = await writer.StopAsync().WaitAsync(TimeSpan.FromSeconds(60));

        Assert.Equal(RunOutcome.Succeeded, restore.Outcome);
        Assert.False(File.Exists(live + "-wal"), "no -wal is left once every connection has closed");
        Assert.Equal(["ok"], Integrity(live));
        Assert.Equal("wal", Pragma(live, "journal_mode"));
        Assert.Equal(Mode0644, File.GetUnixFileMode(live));
        // Apart from the writer's rows the database holds exactly the backup's rows, and the safety copy exactly
        // what was there before the restore.
        Assert.Equal(atBackup, WithoutWriterRows(SqliteRows.Dump(live)));
        Assert.NotNull(restore.SafetyCopy);
        Assert.Equal(["ok"], Integrity(restore.SafetyCopy!));
        Assert.Equal(changed, WithoutWriterRows(SqliteRows.Dump(restore.SafetyCopy!)));
        // Each of the writer's commits (0, 1, 2, ... in order) is either before the restore, in the safety copy, or
        // after it, in the database: the safety copy holds a first run of them and the database all the rest.
        var before = WriterRowIds(restore.SafetyCopy!);
        var after = WriterRowIds(live);
        Assert.Equal(Enumerable.Range(0, before.Count).Select(i => (long)i), before);
        Assert.Equal(Enumerable.Range(before.Count, committed - before.Count).Select(i => (long)i), after);
        Assert.True(before.Count >= 20, $"{before.Count} commits before the restore");
        // The safety copy stands alone (a rollback-journal file, no -wal/-shm beside it).
        Assert.Equal([restore.SafetyCopy], Directory.GetFiles(Path.GetDirectoryName(restore.SafetyCopy)!));
        Assert.True(after.Count >= 20, $"{after.Count} commits after the restore");
    }

    [Theory]
    [InlineData("wal")]
    [InlineData("delete")]
    public async Task A_replace_while_another_connection_holds_the_write_lock_is_a_409_that_changes_nothing(string journalMode)
    {
        var (engine, live, backup, atBackup, changed) = await LiveDatabaseAsync(journalMode, TimeSpan.FromSeconds(1));
        using var _ = engine;
        Execute(live, "PRAGMA wal_checkpoint(TRUNCATE)");
        var hash = Sha256(live);

        RestoreProblemException refused;
        using (var holder = Open(live))
        {
            Scalar(holder, "BEGIN IMMEDIATE");
            refused = await Assert.ThrowsAsync<RestoreProblemException>(() => engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Replace: true), CancellationToken.None));
            // The holder can still commit: the refused restore holds nothing.
            Scalar(holder, "INSERT INTO customers(id, name, email, created_at) VALUES(1000, 'holder', 'holder@example.com', 'now')");
            Scalar(holder, "ROLLBACK");
        }

        Assert.Equal((409, "Database in use"), (refused.Status, refused.Title));
        Assert.Contains("Backup:RestoreLockTimeout", refused.Message);
        Assert.Equal(hash, Sha256(live));
        Assert.Equal(changed, SqliteRows.Dump(live));
        Assert.Equal(RunOutcome.Failed, engine.Restores.GetRestore(refused.Record!.Id)!.Outcome);
        Assert.Empty(Directory.Exists(engine.RestoreRoot) ? Directory.GetFiles(engine.RestoreRoot, "*", SearchOption.AllDirectories) : []);
        Assert.Empty(Directory.GetFiles(Path.GetDirectoryName(live)!, ".*"));

        // Once the lock is free the same restore goes through.
        var restore = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Replace: true), CancellationToken.None);
        Assert.Equal(RunOutcome.Succeeded, restore.Outcome);
        Assert.Equal(atBackup, SqliteRows.Dump(live));
        Assert.Equal(changed, SqliteRows.Dump(restore.SafetyCopy!));
        Assert.Equal(Mode0644, File.GetUnixFileMode(live));
        Assert.Equal(journalMode, Pragma(live, "journal_mode"));
    }

    [Fact]
    public async Task A_replace_of_a_WAL_database_with_another_page_size_is_refused_and_changes_nothing()
    {
        var (engine, live, backup, _, _) = await LiveDatabaseAsync("delete", TimeSpan.FromSeconds(5));
        using var _ = engine;
        Execute(live, "PRAGMA page_size=8192; VACUUM; PRAGMA journal_mode=wal");
        var changed = SqliteRows.Dump(live);
        var hash = Sha256(live);

        var refused = await Assert.ThrowsAsync<RestoreProblemException>(() => engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Replace: true), CancellationToken.None));

        Assert.Equal((409, "Page size differs"), (refused.Status, refused.Title));
        Assert.Contains("4096-byte pages", refused.Message);
        Assert.Contains("8192-byte pages", refused.Message);
        Assert.Equal(hash, Sha256(live));
        Assert.Equal(changed, SqliteRows.Dump(live));
        Assert.Empty(Directory.Exists(engine.RestoreRoot) ? Directory.GetFiles(engine.RestoreRoot, "*", SearchOption.AllDirectories) : []);
    }

    [Fact]
    public async Task A_replace_of_a_rollback_journal_database_with_another_page_size_takes_the_backups_page_size()
    {
        var (engine, live, backup, atBackup, changed) = await LiveDatabaseAsync("delete", TimeSpan.FromSeconds(5));
        using var _ = engine;
        Execute(live, "PRAGMA page_size=8192; VACUUM");

        var restore = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Replace: true), CancellationToken.None);

        Assert.Equal(RunOutcome.Succeeded, restore.Outcome);
        Assert.Equal(atBackup, SqliteRows.Dump(live));
        Assert.Equal(["ok"], Integrity(live));
        Assert.Equal("4096", Pragma(live, "page_size"));
        Assert.Equal(Mode0644, File.GetUnixFileMode(live));
        Assert.Equal(changed, SqliteRows.Dump(restore.SafetyCopy!));
    }

    [Fact]
    public async Task A_backup_whose_contents_differ_from_its_recorded_manifest_is_not_written_into_the_live_file()
    {
        var (engine, live, backup, _, changed) = await LiveDatabaseAsync("wal", TimeSpan.FromSeconds(5));
        using var _ = engine;
        var recorded = engine.Restores.GetManifest(backup.Id)!;
        engine.Restores.SaveManifest(backup.Id, recorded with { Tables = recorded.Tables.Select(t => t.Name == "orders" ? t with { Rows = t.Rows + 1 } : t).ToList() });
        Execute(live, "PRAGMA wal_checkpoint(TRUNCATE)");
        var hash = Sha256(live);

        var refused = await Assert.ThrowsAsync<RestoreProblemException>(() => engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Replace: true), CancellationToken.None));

        Assert.Equal((422, "Backup does not match its manifest"), (refused.Status, refused.Title));
        Assert.Contains("table orders has 200 rows instead of 201", refused.Message);
        Assert.Equal(hash, Sha256(live));
        Assert.Equal(changed, SqliteRows.Dump(live));
    }

    [Fact]
    public void A_restored_file_that_fails_its_check_is_put_back_from_the_safety_copy_and_the_restore_fails()
    {
        var directory = Directory.CreateTempSubdirectory("sqlite-live-restore-").FullName;
        try
        {
            var live = Path.Combine(directory, "live.db");
            BackupWorker.Demo.DemoDatabase.Seed(live);
            File.SetUnixFileMode(live, Mode0644);
            var copy = Path.Combine(directory, "copy.db");
            File.Copy(live, copy);
            Execute(copy, "DELETE FROM orders WHERE id % 2 = 0");
            var before = SqliteRows.Dump(live);
            var safety = Path.Combine(directory, "safety.db");
            var logger = new CapturingLogger<SqliteLiveRestoreTests>();
            // Once the restore is committed, its first table's page on disk is overwritten (no connection holds a lock then).
            var restore = new SqliteLiveRestore(live, copy, safety, TimeSpan.FromSeconds(5), logger, "r1")
            {
                Written = () =>
                {
                    using var file = new FileStream(live, FileMode.Open, FileAccess.Write);
                    file.Position = 4096;
                    file.Write(Enumerable.Repeat((byte)0x55, 4096).ToArray());
                },
            };

            var failed = Assert.Throws<RestoreProblemException>(() => restore.Run(null, CancellationToken.None));

            Assert.Equal((500, "Restored database failed its check"), (failed.Status, failed.Title));
            Assert.Contains("was put back from the safety copy", failed.Message);
            Assert.Equal(["ok"], Integrity(live));
            Assert.Equal(before, SqliteRows.Dump(live));
            Assert.Equal(before, SqliteRows.Dump(safety));
            Assert.Equal(Mode0644, File.GetUnixFileMode(live));
            Assert.Contains(logger.Entries, e => e.StartsWith("Error: ", StringComparison.Ordinal) && e.Contains("put back from safety copy", StringComparison.Ordinal));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }
}
