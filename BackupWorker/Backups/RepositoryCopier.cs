using System.Collections.Concurrent;
using System.Diagnostics;
using BackupWorker.Hosting;
using BackupWorker.Repositories;
using Microsoft.Extensions.Options;

namespace BackupWorker.Backups;

/// <summary>
/// Copies a verified local backup into the object repositories its schedule names: uploads it from the local file
/// (the repository compresses, encrypts and commits it only once complete), checks that what it stored is the recorded
/// backup, reads it back end to end, and only then records it verified there and applies that repository's retention.
/// A copy that does not make it stays pending with its error and is tried again with back-off (<see cref="CopyRetryService"/>);
/// the local copy it comes from is kept until then (<see cref="RetentionPruner"/>).
/// </summary>
public sealed class RepositoryCopier(
    BackupCatalog catalog,
    RepositoryCopyCatalog copies,
    IBackupRepositories repositories,
    BackupPaths paths,
    IOptions<BackupOptions> options,
    BackupTelemetry telemetry,
    TimeProvider time,
    ILogger<RepositoryCopier> logger,
    IRestoreRecords? restores = null)
{
    // One attempt per copy at a time in this process (a run's own attempt and the retry service's); the catalog's claim
    // keeps other processes out.
    private readonly ConcurrentDictionary<string, byte> _busy = new(StringComparer.Ordinal);

    public RepositoryCopyCatalog Copies => copies;

    /// <summary>Wraps the local file as it is uploaded; replaceable by tests to hold an upload mid-way.</summary>
    internal Func<Stream, Stream> UploadSource { get; set; } = static file => file;

    /// <summary>Whether the object repository <paramref name="name"/> is configured.</summary>
    public bool IsConfigured(string name) => repositories.TryGet(name, out _);

    public IReadOnlyCollection<string> ConfiguredNames => repositories.Names;

    /// <summary>The object key of a backup: its path under the backup root (location/file), so keys never collide.</summary>
    public string KeyOf(BackupRun run)
    {
        var file = Path.GetFullPath(run.File!);
        var relative = file.StartsWith(paths.BackupRoot + Path.DirectorySeparatorChar, StringComparison.Ordinal)
            ? Path.GetRelativePath(paths.BackupRoot, file) : Path.Combine(DatabaseNames.AsDirectoryName(run.Database), Path.GetFileName(file));
        return relative.Replace(Path.DirectorySeparatorChar, '/');
    }

    /// <summary>One attempt at every copy of <paramref name="run"/> still to be made. Never throws but for cancellation of none.</summary>
    public async Task CopyAllAsync(BackupRun run, CancellationToken cancellationToken)
    {
        foreach (var copy in copies.List(run.Id).Where(c => c.State is CopyState.Pending or CopyState.Copied))
            await CopyAsync(run, copy.Repository, cancellationToken);
    }

    /// <summary>
    /// One attempt at the copy of <paramref name="run"/> into <paramref name="repository"/>; returns how it stands after
    /// (null: no such copy, no longer one to make, or another attempt at it is under way, in this process or another).
    /// </summary>
    public async Task<RepositoryCopy?> CopyAsync(BackupRun run, string repository, CancellationToken cancellationToken)
    {
        var guard = run.Id + "/" + repository;
        if (!_busy.TryAdd(guard, 0)) return null;
        try
        {
            if (!copies.TryClaim(run.Id, repository)) return null;
            try
            {
                await AttemptAsync(run, repository, copies.Get(run.Id, repository)!, cancellationToken);
                return copies.Get(run.Id, repository);
            }
            finally
            {
                copies.Release(run.Id, repository);
            }
        }
        finally
        {
            _busy.TryRemove(guard, out _);
        }
    }

    private async Task AttemptAsync(BackupRun run, string repository, RepositoryCopy current, CancellationToken cancellationToken)
    {
        var attempts = current.Attempts + 1;
        var started = time.GetUtcNow();
        using var activity = BackupTelemetry.Source.StartActivity("copy " + run.Database + " to " + repository);
        activity?.SetTag("backup.run_id", run.Id);
        activity?.SetTag("backup.repository", repository);
        activity?.SetTag("db.name", run.Database);
        try
        {
            if (!repositories.TryGet(repository, out var repo))
                throw new RepositoryUnavailableException($"Repository '{repository}' is not configured (Backup:Repositories:{repository}); the copy waits for it.");
            if (run.PrunedAt is not null || run.File is null || !File.Exists(run.File))
            {
                Fail(run, repository, attempts, $"The local copy '{run.File}' is gone, so there is nothing to copy into '{repository}' from.");
                return;
            }
            var key = KeyOf(run);
            // An upload already made is read back again rather than sent again.
            var stored = current.State == CopyState.Copied ? copies.StoredObject(run.Id, repository) : null;
            if (stored is null)
            {
                await using (var file = new FileStream(run.File, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16, FileOptions.SequentialScan))
                    stored = await repo.PutAsync(key, UploadSource(file), cancellationToken);
                if (stored.OriginalSha256 != run.Checksum)
                {
                    // The local file no longer holds what was verified and recorded: what was uploaded is not that backup.
                    await DeleteQuietlyAsync(repo, key);
                    Fail(run, repository, attempts, $"The local copy '{run.File}' no longer has the SHA-256 recorded when it was taken; it was not copied into '{repository}'.");
                    return;
                }
                if (!copies.SetCopied(run.Id, repository, stored, time.GetUtcNow()))
                {
                    logger.CopyTakenOver(run.Id, repository);
                    return;
                }
            }
            await repo.VerifyAsync(key, stored, cancellationToken);
            var ended = time.GetUtcNow();
            if (!copies.SetVerified(run.Id, repository, ended))
            {
                logger.CopyTakenOver(run.Id, repository);
                return;
            }
            var seconds = (ended - started).TotalSeconds;
            logger.CopyVerified(run.Id, repository, key, stored.StoredBytes, stored.Compression, stored.Encrypted, seconds);
            telemetry.Copies.Add(1, new("outcome", "verified"), new("backup.repository", repository), new("db.name", run.Database));
            telemetry.CopyBytes.Add(stored.StoredBytes, new("backup.repository", repository), new("db.name", run.Database));
            telemetry.CopyDuration.Record(seconds, new("outcome", "verified"), new("backup.repository", repository));
            await new RepositoryRetention(catalog, copies, repo, restores, telemetry, time, logger).ApplyAsync(run, cancellationToken);
        }
        catch (Exception e)
        {
            var error = e switch
            {
                RepositoryContentException => "What was stored did not read back as the backup: " + e.Message,
                OperationCanceledException => "The copy was cancelled (the run's time limit or the worker stopping).",
                _ => e.Message,
            };
            activity?.SetStatus(ActivityStatusCode.Error, error);
            var now = time.GetUtcNow();
            var next = now + RetryPasses.Backoff(attempts, options.Value.CopyRetryInitialDelay, options.Value.CopyRetryMaxDelay);
            // Back to pending: the next attempt uploads again (what is stored under the key is replaced only once complete).
            if (!copies.SetPending(run.Id, repository, error, attempts, next, now))
            {
                logger.CopyTakenOver(run.Id, repository);
                return;
            }
            logger.CopyPending(run.Id, repository, attempts, error, next);
            telemetry.Copies.Add(1, new("outcome", "pending"), new("backup.repository", repository), new("db.name", run.Database));
            telemetry.CopyDuration.Record((now - started).TotalSeconds, new("outcome", "pending"), new("backup.repository", repository));
        }
    }

    private void Fail(BackupRun run, string repository, int attempts, string error)
    {
        if (!copies.SetFailed(run.Id, repository, error, attempts, time.GetUtcNow()))
        {
            logger.CopyTakenOver(run.Id, repository);
            return;
        }
        logger.CopyFailed(run.Id, repository, error);
        telemetry.Copies.Add(1, new("outcome", "failed"), new("backup.repository", repository), new("db.name", run.Database));
    }

    private static async Task DeleteQuietlyAsync(IBackupRepository repo, string key)
    {
        try
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await repo.DeleteAsync(key, cts.Token);
        }
        catch (Exception e) when (e is RepositoryUnavailableException or OperationCanceledException) { }
    }
}
