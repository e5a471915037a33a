using System.Diagnostics;
using BackupWorker.Backups;
using BackupWorker.Restore;

namespace BackupWorker.Tests;

/// <summary>
/// A SQLite restore reads its backup once (issue 26, item 5) and still never uses a backup that fails its checksum:
/// nothing checks or replaces from an unverified copy, and a refused restore leaves nothing behind.
/// </summary>
public class SqliteRestoreCopyTests
{
    private static readonly BackupMetadata Demo = new("my-prod-db", "my-prod-db");

    private static async Task<(EngineFixture Engine, string Source, BackupRun Backup)> BackedUpAsync()
    {
        var engine = new EngineFixture();
        var source = engine.SeedDemoDatabase();
        var backup = await engine.Runner.RunAsync("prod-db-backup", Demo, "job", CancellationToken.None);
        Assert.True(backup.Outcome == RunOutcome.Succeeded, backup.Error);
        return (engine, source, backup);
    }

    private static void Damage(string file)
    {
        using var stream = new FileStream(file, FileMode.Open, FileAccess.ReadWrite);
        stream.Position = 4096 + 100;
        var b = stream.ReadByte();
        stream.Position = 4096 + 100;
        stream.WriteByte((byte)(b ^ 0xFF));
    }

    [Fact]
    public async Task A_restore_reads_the_backup_file_once()
    {
        var (engine, source, backup) = await BackedUpAsync();
        using var __ = engine;
        var atBackup = SqliteRows.Dump(source);
        // The backup becomes a pipe that hands its bytes out once: a second read would wait for a writer that never comes.
        var bytes = await File.ReadAllBytesAsync(backup.File!);
        File.Delete(backup.File!);
        using (var mkfifo = Process.Start("mkfifo", ["-m", "600", backup.File!])) await mkfifo.WaitForExitAsync();
        var writer = Task.Run(() => File.WriteAllBytes(backup.File!, bytes));
        var restoring = engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Target: "once/restored.db"), CancellationToken.None);
        try
        {
            var restore = await restoring.WaitAsync(TimeSpan.FromSeconds(60));
            await writer.WaitAsync(TimeSpan.FromSeconds(10));

            Assert.Equal(RunOutcome.Succeeded, restore.Outcome);
            Assert.Equal(atBackup, SqliteRows.Dump(Path.Combine(engine.RestoreRoot, "once", "restored.db")));
        }
        finally
        {
            // A reader still waiting on the pipe (a second read) is let go with an empty write, so no thread stays blocked.
            if (!restoring.IsCompleted) _ = Task.Run(() => File.WriteAllBytes(backup.File!, []));
        }
    }

    [Fact]
    public async Task A_corrupted_backup_restored_into_a_new_file_leaves_no_file_or_directory_behind()
    {
        var (engine, _, backup) = await BackedUpAsync();
        using var __ = engine;
        Damage(backup.File!);

        var refused = await Assert.ThrowsAsync<RestoreProblemException>(() =>
            engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: backup.Id, Target: "deep/er/new.db"), CancellationToken.None));

        Assert.Equal((422, "Backup checksum mismatch"), (refused.Status, refused.Title));
        Assert.Contains("not the " + backup.Checksum, refused.Message);
        Assert.False(Directory.Exists(Path.Combine(engine.RestoreRoot, "deep")));
    }

    [Fact]
    public async Task The_check_never_sees_a_copy_whose_checksum_differs_and_a_failed_check_removes_the_copy()
    {
        var (engine, _, backup) = await BackedUpAsync();
        using var __ = engine;
        var directory = Path.Combine(engine.DataDirectory, "copies");
        Directory.CreateDirectory(directory);
        var checkedFiles = new List<string>();
        Task Check(string file, CancellationToken _)
        {
            checkedFiles.Add(file);
            return Task.CompletedTask;
        }

        var good = Path.Combine(directory, "good.db");
        await SqliteRestoreCopy.CopyCheckedAsync(backup, good, Check, CancellationToken.None);
        Assert.Equal(await File.ReadAllBytesAsync(backup.File!), await File.ReadAllBytesAsync(good));
        Assert.Equal([good], checkedFiles);

        var failing = Path.Combine(directory, "failing.db");
        var error = await Assert.ThrowsAsync<BackupFailedException>(() => SqliteRestoreCopy.CopyCheckedAsync(backup, failing,
            (_, _) => throw new BackupFailedException("Integrity check of the backup failed: damaged"), CancellationToken.None));
        Assert.Contains("damaged", error.Message);
        Assert.False(File.Exists(failing));

        Damage(backup.File!);
        var damaged = Path.Combine(directory, "damaged.db");
        var refused = await Assert.ThrowsAsync<RestoreProblemException>(() => SqliteRestoreCopy.CopyCheckedAsync(backup, damaged, Check, CancellationToken.None));
        Assert.Equal(422, refused.Status);
        Assert.Equal([good], checkedFiles);
        Assert.Equal(["good.db"], Directory.GetFiles(directory).Select(Path.GetFileName));
    }
}
