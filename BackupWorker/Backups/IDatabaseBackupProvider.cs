using BackupWorker.Hosting;

namespace BackupWorker.Backups;

/// <summary>Writes a consistent copy of one database into a file and checks that the copy reads back.</summary>
public interface IDatabaseBackupProvider
{
    /// <summary>The provider name used in configuration (<c>sqlite</c>, <c>postgres</c>).</summary>
    string Provider { get; }

    /// <summary>File extension of the backups it writes.</summary>
    string FileExtension { get; }

    Task BackupAsync(string databaseName, DatabaseOptions database, string targetFile, CancellationToken cancellationToken);

    Task VerifyAsync(string backupFile, CancellationToken cancellationToken);
}
