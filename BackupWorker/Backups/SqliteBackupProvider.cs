using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace BackupWorker.Backups;

/// <summary>
/// SQLite: the online backup API copies a consistent snapshot even while the database is being written, then
/// <c>PRAGMA integrity_check</c> is run on the copy (not the source: the copy is what will be restored).
/// </summary>
public sealed class SqliteBackupProvider(BackupPaths paths) : IDatabaseBackupProvider
{
    public string Provider => "sqlite";

    public string FileExtension => ".db";

    /// <summary>Pages copied per step of the online backup: between steps the run can be cancelled and writers get the lock.</summary>
    internal const int PagesPerStep = 256;

    // While another connection holds a lock on the source, a step answers BUSY/LOCKED: wait this long and try again
    // (until the run is cancelled or times out), as a busy timeout would.
    private static readonly TimeSpan BusyRetryDelay = TimeSpan.FromMilliseconds(50);

    public async Task BackupAsync(string databaseName, DatabaseOptions database, string targetFile, CancellationToken cancellationToken)
    {
        var source = SourceConnectionString(database.ConnectionString);
        if (!File.Exists(source.DataSource))
            throw new BackupFailedException($"SQLite database file '{source.DataSource}' of '{databaseName}' does not exist.");
        try
        {
            using var from = new SqliteConnection(source.ToString());
            from.Open();
            using var to = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = targetFile, Pooling = false }.ToString());
            to.Open();
            // The online backup API in steps (SqliteConnection.BackupDatabase copies everything in one step, which
            // nothing can interrupt): a hanging or huge backup ends when the run is cancelled or times out.
            var backup = raw.sqlite3_backup_init(to.Handle, "main", from.Handle, "main")
                ?? throw new BackupFailedException($"SQLite backup of '{databaseName}' failed: {raw.sqlite3_errmsg(to.Handle).utf8_to_string()}");
            try
            {
                while (true)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    var rc = raw.sqlite3_backup_step(backup, PagesPerStep);
                    if (rc == raw.SQLITE_DONE) break;
                    if (rc == raw.SQLITE_OK) continue;
                    if (rc is raw.SQLITE_BUSY or raw.SQLITE_LOCKED)
                    {
                        await Task.Delay(BusyRetryDelay, cancellationToken);
                        continue;
                    }
                    throw new BackupFailedException($"SQLite backup of '{databaseName}' failed: {raw.sqlite3_errstr(rc).utf8_to_string()}");
                }
            }
            finally
            {
                raw.sqlite3_backup_finish(backup);
            }
        }
        catch (SqliteException e)
        {
            throw new BackupFailedException($"SQLite backup of '{databaseName}' failed: {e.Message}", e);
        }
    }

    public Task VerifyAsync(string backupFile, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        try
        {
            using var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = backupFile, Mode = SqliteOpenMode.ReadOnly, Pooling = false }.ToString());
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA integrity_check";
            using var reader = command.ExecuteReader();
            while (reader.Read()) problems.Add(reader.GetString(0));
        }
        catch (SqliteException e)
        {
            throw new BackupFailedException("Integrity check of the backup failed: " + e.Message, e);
        }
        if (problems is not ["ok"])
            throw new BackupFailedException("Integrity check of the backup failed: " + string.Join("; ", problems.Take(10)));
        return Task.CompletedTask;
    }

    private SqliteConnectionStringBuilder SourceConnectionString(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Pooling = false };
        if (string.IsNullOrWhiteSpace(builder.DataSource))
            throw new BackupFailedException("The SQLite connection string has no Data Source.");
        builder.DataSource = paths.Resolve(builder.DataSource);
        // Read-only: a backup must never create or alter the database it copies.
        builder.Mode = SqliteOpenMode.ReadOnly;
        return builder;
    }
}
