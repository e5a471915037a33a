using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Options;

namespace BackupWorker.Restore;

/// <summary>
/// SQLite restores: into a new file under the restore root, or with <c>replace</c> over an existing file (the backed-up
/// database itself included) after a safety copy. A configured database's file is never a target without <c>replace</c>.
/// </summary>
internal sealed class SqliteRestoreProvider(RestoreService service, BackupPaths paths, IOptions<BackupOptions> options, RestoreCatalog restores,
    TimeProvider time, ILogger logger) : IRestoreProvider
{
    public string Provider => "sqlite";

    public Task<DatabaseManifest> ReadBackupManifestAsync(string backupFile, CancellationToken cancellationToken) =>
        Task.FromResult(DatabaseManifests.ReadSqlite(backupFile));

    /// <summary>A drill restores into a temp file under the restore root's <c>drills</c> directory.</summary>
    public async Task<DatabaseManifest> RestoreScratchAsync(BackupRun backup, DatabaseOptions database, string drillId, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(service.RestoreRoot, "drills");
        service.CreateDirectories(directory);
        var scratch = Path.Combine(directory, $".drill-{drillId[..12]}.db{BackupFiles.PartialSuffix}");
        try
        {
            try
            {
                await SqliteRestoreFiles.CopyVerifiedAsync(backup, scratch, cancellationToken);
            }
            catch (RestoreProblemException e)
            {
                throw new DrillContentException(e.Message, e);
            }
            try
            {
                await service.Sqlite.VerifyAsync(scratch, cancellationToken);
                return DatabaseManifests.ReadSqlite(scratch);
            }
            catch (BackupFailedException e) when (e.InnerException is not SqliteException inner || IsContentError(inner))
            {
                throw new DrillContentException(e.Message, e);
            }
            catch (SqliteException e) when (IsContentError(e))
            {
                throw new DrillContentException("The restored copy cannot be read: " + e.Message, e);
            }
        }
        finally
        {
            SqliteRestoreFiles.TryDelete(scratch);
        }
    }

    // SQLITE_CORRUPT and SQLITE_NOTADB say the file is bad; full disks, permissions and I/O errors say nothing about it.
    private static bool IsContentError(SqliteException e) => (e.SqliteErrorCode & 0xFF) is 11 or 26;

    public Task<IRestorePlan> PlanAsync(RestoreRequest request, BackupRun backup, DatabaseOptions database, string id, CancellationToken cancellationToken) =>
        Task.FromResult<IRestorePlan>(Plan(request, backup, database, id));

    private SqliteRestorePlan Plan(RestoreRequest request, BackupRun backup, DatabaseOptions database, string id)
    {
        var source = SqliteFileOf(database);
        string target;
        if (request.Target is null)
        {
            target = request.Replace ? source
                : Path.Combine(service.RestoreRoot, DatabaseNames.AsDirectoryName(backup.Database), $"{DatabaseNames.AsDirectoryName(backup.Database)}-{backup.StartedAt.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-restore-{id[..12]}.db");
        }
        else
        {
            target = service.ResolveUnderRestoreRoot(request.Target);
            var configured = options.Value.Databases.Where(d => d.Value.Provider.Equals("sqlite", StringComparison.OrdinalIgnoreCase))
                .FirstOrDefault(d => SqliteFileOf(d.Value) == target);
            if (configured.Key is not null && !request.Replace)
                throw new RestoreProblemException(409, "Target is a configured database", $"'{request.Target}' is the file of database '{configured.Key}'; send replace: true to restore over it.");
        }
        if (Directory.Exists(target)) throw new RestoreProblemException(409, "Target exists", $"The restore target '{target}' is a directory.");
        if (new FileInfo(target).LinkTarget is not null) throw new RestoreProblemException(400, "Invalid restore target", $"The restore target '{target}' is a symbolic link; links are not followed.");
        var exists = File.Exists(target);
        if (exists && !request.Replace)
            throw new RestoreProblemException(409, "Target exists", $"The restore target '{target}' exists; send replace: true to replace it (a safety copy is kept).");
        var safety = exists ? Path.Combine(service.RestoreRoot, "safety-copies", $"{Path.GetFileNameWithoutExtension(target)}-{time.GetUtcNow().UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{id[..12]}.db") : null;
        return new SqliteRestorePlan(service, target, target == source, safety, id, exists ? restores.GetManifest(backup.Id) : null, options.Value.RestoreLockTimeout, logger);
    }

    private string SqliteFileOf(DatabaseOptions database)
    {
        var builder = new SqliteConnectionStringBuilder(database.ConnectionString);
        return paths.Resolve(builder.DataSource);
    }
}
