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

    public Task<IRestorePlan> PlanAsync(RestoreRequest request, BackupRun backup, DatabaseOptions database, string id, CancellationToken cancellationToken) =>
        Task.FromResult<IRestorePlan>(Plan(request, backup, database, id));

    private SqliteRestorePlan Plan(RestoreRequest request, BackupRun backup, DatabaseOptions database, string id)
    {
        var source = SqliteFileOf(database);
        string target;
        if (request.Target is null)
        {
            target = request.Replace ? source
                : Path.Combine(service.RestoreRoot, RestoreService.SafeName(backup.Database), $"{RestoreService.SafeName(backup.Database)}-{backup.StartedAt.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-restore-{id[..12]}.db");
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
