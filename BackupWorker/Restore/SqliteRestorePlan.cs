using BackupWorker.Backups;
using BackupWorker.Hosting;

namespace BackupWorker.Restore;

/// <summary>
/// A new file: a verified, fsynced temp file renamed into place (never a half-restored file under its name). An
/// existing file: written into through SQLite's backup API (<see cref="SqliteLiveRestore"/>), never renamed over,
/// since other connections may have it open.
/// </summary>
internal sealed class SqliteRestorePlan(RestoreService service, string target, bool overwritesSource, string? safetyCopy, string id,
    DatabaseManifest? recorded, TimeSpan lockTimeout, ILogger logger) : IRestorePlan
{
    public string Target => target;

    public bool OverwritesSource => overwritesSource;

    public string? SafetyCopy => safetyCopy;

    public async Task<string?> ExecuteAsync(BackupRun source, CancellationToken cancellationToken)
    {
        SqliteRestoreCopy.RequireChecksum(source);
        var directory = Path.GetDirectoryName(target)!;
        var undoDirectories = SqliteRestoreCopy.CreateDirectories(directory, service.CreateDirectories);
        // Same directory as the target, so the rename of a new file is atomic.
        var temp = Path.Combine(directory, $".{Path.GetFileName(target)}.restoring-{id[..12]}{BackupFiles.PartialSuffix}");
        try
        {
            // One read of the backup: hashed as it is copied, checked, fsynced (see SqliteRestoreCopy).
            try { await SqliteRestoreCopy.CopyCheckedAsync(source, temp, service.Sqlite.VerifyAsync, cancellationToken); }
            catch (RestoreProblemException) { undoDirectories(); throw; }
            cancellationToken.ThrowIfCancellationRequested();
            if (safetyCopy is null)
            {
                try
                {
                    File.Move(temp, target, overwrite: false);
                }
                catch (IOException) when (File.Exists(target))
                {
                    throw new RestoreProblemException(409, "Target exists", $"The restore target '{target}' was created while the restore ran; it is left as it is.");
                }
                BackupFiles.FsyncDirectory(directory);
                return null;
            }
            service.CreateDirectories(Path.GetDirectoryName(safetyCopy)!);
            new SqliteLiveRestore(target, temp, safetyCopy, lockTimeout, logger, id).Run(recorded, cancellationToken);
            return safetyCopy;
        }
        finally
        {
            SqliteRestoreFiles.DeleteDatabaseFile(temp);
        }
    }
}
