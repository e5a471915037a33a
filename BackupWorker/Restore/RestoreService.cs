using Shared;
using System.Collections.Concurrent;
using System.Diagnostics;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Restore;

/// <summary>
/// Restores a backup into a target that is never its source by accident: SQLite into a new file under the restore
/// root (a verified, fsynced temp file renamed into place) or, with <c>replace</c>, into the live file through SQLite's
/// backup API after a safety copy; PostgreSQL with pg_restore into a new database swapped in (the replaced one kept).
/// Every restore that gets as far as a backup is recorded, refused or not; a refusal touches nothing. A restore over
/// the backed-up database takes the run locks of every schedule of it, so no backup of it runs meanwhile (409).
/// </summary>
public sealed class RestoreService(
    BackupCatalog catalog,
    RestoreCatalog restores,
    BackupPaths paths,
    IOptions<BackupOptions> options,
    IEnumerable<IDatabaseBackupProvider> providers,
    PostgresTools postgres,
    BackupTelemetry telemetry,
    TimeProvider time,
    ILogger<RestoreService> logger,
    WorkLimiter? limiter = null,
    BackupSources? sources = null)
{
    private readonly BackupSources _sources = sources ?? new BackupSources(restores);
    private IRestoreProvider[]? _restorers;

    /// <summary>One per provider a restore supports, as backups have one <see cref="IDatabaseBackupProvider"/> each.</summary>
    private IRestoreProvider[] Restorers => _restorers ??=
        [new SqliteRestoreProvider(this, paths, options, restores, time, logger), new PostgresRestoreProvider(this, postgres, new DatabaseManifests(postgres))];

    internal BackupSources Sources => _sources;

    /// <summary>How backups of <paramref name="provider"/> (lower case) are restored and drilled; null when restores do not support it.</summary>
    internal IRestoreProvider? RestorerOf(string provider) => Restorers.FirstOrDefault(r => r.Provider == provider);

    /// <summary>Restores at once, beyond which a request is refused with 429: each one reads and writes a whole database.</summary>
    public const int MaxConcurrentRestores = 2;

    private readonly SemaphoreSlim _slots = new(MaxConcurrentRestores);
    private readonly ConcurrentDictionary<string, byte> _targets = new(StringComparer.Ordinal);

    public string RestoreRoot => Path.TrimEndingDirectorySeparator(paths.Resolve(options.Value.RestoreRoot));

    /// <param name="accepted">Called with the Running record once nothing can refuse the request any more, just before the restore runs.</param>
    public async Task<RestoreRecord> RestoreAsync(RestoreRequest request, CancellationToken cancellationToken, Action<RestoreRecord>? accepted = null)
    {
        var errors = RestoreRequestRules.Check(request.BackupId, request.Schedule, request.Database, request.Target, request.RequestedBy, request.Repository);
        if (errors.Count > 0) throw new RestoreProblemException(400, "Invalid restore request", "One or more fields are invalid.", errors: errors);
        var (backup, repository) = FindSource(request);
        var (providerName, database) = ConfiguredDatabase(backup);
        if (!await _slots.WaitAsync(0, cancellationToken))
            throw new RestoreProblemException(429, "Too many restores", $"{MaxConcurrentRestores} restores are running; try again when one has finished.");
        try
        {
            var id = Guid.NewGuid().ToString("N");
            var requestedBy = request.RequestedBy ?? "unknown";
            var started = time.GetUtcNow();
            var record = new RestoreRecord(id, backup.Id, backup.Schedule, backup.Database, providerName, "", request.Replace, null, requestedBy, started, null, RunOutcome.Running, null)
            {
                Repository = repository,
            };

            // Everything that can refuse the request without touching anything comes first, each refusal recorded.
            IRestorePlan plan;
            try
            {
                plan = await Restorers.First(r => r.Provider == providerName).PlanAsync(request, backup, database, id, cancellationToken);
                record = record with { Target = plan.Target };
            }
            catch (Exception e) when (e is RestoreProblemException or PostgresUnavailableException or PostgresSqlException)
            {
                throw Refused(record with { Target = request.Target ?? "" }, e);
            }
            if (!_targets.TryAdd(plan.Target, 0))
                throw Refused(record, new RestoreProblemException(409, "Restore already running", $"A restore into '{plan.Target}' is in progress."));
            try
            {
                // A restore into a new file or database reads only the backup; one over the database itself must not
                // race a backup reading it (and would give that backup a half-replaced source).
                using var locks = plan.OverwritesSource ? ScheduleLocks.TryAcquire(paths, SchedulesOf(backup), out var busy) : ScheduleLocks.None(out busy);
                if (locks is null)
                    throw Refused(record, new RestoreProblemException(409, "Backup running",
                        $"A backup of database '{backup.Database}' is running (schedule '{busy}'); restore it once that run has finished."));
                accepted?.Invoke(record);
                return await RunAsync(record, backup, database, plan, started, cancellationToken);
            }
            finally
            {
                _targets.TryRemove(plan.Target, out _);
            }
        }
        finally
        {
            _slots.Release();
        }
    }

    private async Task<RestoreRecord> RunAsync(RestoreRecord record, BackupRun backup, DatabaseOptions database, IRestorePlan plan, DateTimeOffset started, CancellationToken cancellationToken)
    {
        // While running, the record names where the replaced target will be kept: a stop mid-restore leaves it to find.
        using var work = RestoreWorkScope.Start(() => restores.UpsertRestore(record with { SafetyCopy = plan.SafetyCopy }), "restore " + backup.Database,
            options.Value.RestoreTimeout, time, cancellationToken, ("backup.restore_id", record.Id), ("backup.run_id", backup.Id),
            ("db.name", backup.Database), ("backup.restore_target", plan.Target), ("backup.repository", record.Repository));
        var activity = work.Activity;
        try
        {
            // A restore loads its database's server as a backup does: it waits its turn under the same limits, shown queued.
            var queued = false;
            using var slot = limiter is null ? null : await limiter.AcquireAsync(WorkLimiter.ServerOf(database, backup.Database), backup.Database, () =>
            {
                queued = true;
                restores.UpsertRestore(record with { Outcome = RunOutcome.Queued });
                logger.RestoreQueued(record.Id, backup.Database);
            }, work.Token);
            if (queued) restores.UpsertRestore(record);
            // A copy in an object repository is downloaded and checked first: a wrong key or a damaged copy touches nothing.
            using var staged = await StageAsync(backup, record.Repository, record.Id, work.Token);
            var safetyCopy = await plan.ExecuteAsync(staged.Backup, work.Token);
            var ended = time.GetUtcNow();
            record = record with { EndedAt = ended, Outcome = RunOutcome.Succeeded, SafetyCopy = safetyCopy };
            restores.UpsertRestore(record);
            if (safetyCopy is not null) logger.SafetyCopyKept(record.Id, plan.Target, safetyCopy);
            logger.RestoreSucceeded(record.Id, backup.Id, backup.Database, plan.Target, record.RequestedBy, (ended - started).TotalSeconds);
            telemetry.Restores.Add(1, new("outcome", "succeeded"), new("db.name", backup.Database));
            telemetry.RestoreDuration.Record((ended - started).TotalSeconds, new("outcome", "succeeded"), new("db.name", backup.Database));
            return record;
        }
        catch (Exception e)
        {
            activity?.SetStatus(ActivityStatusCode.Error, e.Message);
            var ended = time.GetUtcNow();
            telemetry.RestoreDuration.Record((ended - started).TotalSeconds, new("outcome", "failed"), new("db.name", backup.Database));
            throw Failed(record with { EndedAt = ended }, e, work.Token.IsCancellationRequested && !cancellationToken.IsCancellationRequested);
        }
    }

    private RestoreProblemException Refused(RestoreRecord record, Exception e) => Failed(record with { EndedAt = time.GetUtcNow() }, e, timedOut: false);

    private RestoreProblemException Failed(RestoreRecord record, Exception e, bool timedOut)
    {
        var problem = e switch
        {
            RestoreProblemException p => p,
            PostgresUnavailableException => new RestoreProblemException(503, "PostgreSQL unavailable", e.Message),
            PostgresSqlException => new RestoreProblemException(422, "PostgreSQL refused the restore", e.Message),
            BackupFailedException => new RestoreProblemException(422, "Restored copy failed its check", e.Message),
            OperationCanceledException when timedOut => new RestoreProblemException(500, "Restore timed out", $"The restore exceeded its time limit ({options.Value.RestoreTimeout})."),
            OperationCanceledException => new RestoreProblemException(500, "Restore cancelled", "The restore was cancelled."),
            _ => new RestoreProblemException(500, "Restore failed", e.Message),
        };
        record = record with { Outcome = RunOutcome.Failed, Error = problem.Message };
        restores.UpsertRestore(record);
        logger.RestoreFailed(record.Id, record.BackupId, record.Database, record.Target, problem.Message);
        telemetry.Restores.Add(1, new("outcome", "failed"), new("db.name", record.Database));
        return problem.WithRecord(record);
    }

    /// <summary>The backup the request names (404 when there is none); one a drill failed on is refused (409).</summary>
    public BackupRun FindBackup(RestoreRequest request) => FindSource(request).Backup;

    /// <summary>
    /// The backup the request names and the repository to read it from (<see cref="BackupSources.Choose"/>): 404 when
    /// there is none, 409 when the only copies were found bad by a drill.
    /// </summary>
    public (BackupRun Backup, string Repository) FindSource(RestoreRequest request)
    {
        if (request.BackupId is { } id)
        {
            var run = catalog.GetRun(id);
            if (run is null || run.Outcome != RunOutcome.Succeeded || run.File is null)
                throw new RestoreProblemException(404, "Backup not found", $"No backup with id '{id}'.");
            if (run.PrunedAt is not null && request.Repository is null && _sources.Choose(run, null, throwIfNone: false) is null)
                throw new RestoreProblemException(404, "Backup not found", $"Backup '{id}' was removed by retention at {run.PrunedAt:O}.");
            return (run, _sources.Choose(run, request.Repository, throwIfNone: true)!);
        }
        var candidates = request.Schedule is { } schedule ? catalog.ListBackups(schedule: schedule) : catalog.ListBackups(database: request.Database);
        foreach (var candidate in candidates.Where(b => b.File is not null))
            if (_sources.Choose(candidate, request.Repository, throwIfNone: false) is { } repository) return (candidate, repository);
        var where = request.Repository is null ? "" : $" in repository '{request.Repository}'";
        throw new RestoreProblemException(404, "Backup not found", request.Schedule is not null
            ? $"Schedule '{request.Schedule}' has no restorable backup{where}."
            : $"Database '{request.Database}' has no restorable backup{where}.");
    }

    /// <summary>The backup as a local file to restore from (<see cref="BackupSources.StageAsync"/>), downloaded into the restore root when it must be.</summary>
    internal async Task<StagedBackup> StageAsync(BackupRun backup, string repository, string id, CancellationToken cancellationToken)
    {
        if (string.Equals(repository, RepositoryListRules.Local, StringComparison.OrdinalIgnoreCase)) return new StagedBackup(backup, null);
        var directory = Path.Combine(RestoreRoot, "fetched");
        CreateDirectories(directory);
        return await _sources.StageAsync(backup, repository, directory, id, cancellationToken);
    }

    /// <summary>The backup's database as configured now: its provider and where it lives.</summary>
    public (string Provider, DatabaseOptions Database) ConfiguredDatabase(BackupRun backup)
    {
        if (!options.Value.Databases.TryGetValue(backup.Database, out var database))
            throw new RestoreProblemException(409, "Database not configured", $"The database '{backup.Database}' of backup '{backup.Id}' is no longer configured (Backup:Databases).");
        var provider = database.Provider.ToLowerInvariant();
        if (!Restorers.Any(r => r.Provider == provider))
            throw new RestoreProblemException(409, "Unsupported provider", $"Database '{backup.Database}' has provider '{database.Provider}'; restores support sqlite and postgres.");
        return (provider, database);
    }

    /// <summary>The backup's own schedule and every live schedule of the same database: no backup of it may run during a restore.</summary>
    private IEnumerable<string> SchedulesOf(BackupRun backup) =>
        catalog.ListSchedules().Where(s => string.Equals(s.Database, backup.Database, StringComparison.OrdinalIgnoreCase)).Select(s => s.Name)
            .Append(backup.Schedule).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);

    internal IDatabaseBackupProvider Sqlite => providers.First(p => p.Provider == "sqlite");

    internal PostgresTools Postgres => postgres;

    /// <summary>The absolute path of a relative target under the restore root, passing through no link (400 otherwise).</summary>
    internal string ResolveUnderRestoreRoot(string target)
    {
        var root = RestoreRoot;
        var full = Path.GetFullPath(target, root);
        if (!full.StartsWith(root + Path.DirectorySeparatorChar, StringComparison.Ordinal))
            throw new RestoreProblemException(400, "Invalid restore target", $"The restore target '{target}' resolves outside the restore root '{root}'.");
        var current = root;
        foreach (var segment in Path.GetDirectoryName(full)![root.Length..].Split(Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries))
        {
            current = Path.Combine(current, segment);
            if (new DirectoryInfo(current).LinkTarget is not null)
                throw new RestoreProblemException(400, "Invalid restore target", $"The restore target '{target}' passes through the symbolic link '{current}'; links are not followed.");
            if (File.Exists(current))
                throw new RestoreProblemException(400, "Invalid restore target", $"The restore target '{target}' passes through '{current}', which is not a directory.");
        }
        return full;
    }

    /// <summary>Creates each missing directory (0700) from the restore root down to <paramref name="directory"/>.</summary>
    internal void CreateDirectories(string directory)
    {
        if (Directory.Exists(directory)) return;
        var parent = Path.GetDirectoryName(directory);
        if (parent is not null && !Directory.Exists(parent)) CreateDirectories(parent);
        BackupPaths.CreatePrivateDirectory(directory);
    }

    internal static async Task DropQuietlyAsync(PostgresTools tools, PostgresServerAddress server, string database)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            await tools.SqlAsync(server, $"DROP DATABASE IF EXISTS \"{database}\"", cts.Token);
        }
        catch (Exception e) when (e is PostgresSqlException or PostgresUnavailableException or OperationCanceledException) { }
    }
}
