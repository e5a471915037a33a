using Shared;
using System.Security.Cryptography;
using BackupWorker.Backups;
using BackupWorker.Repositories;

namespace BackupWorker.Restore;

/// <summary>
/// Where a restore or drill reads a backup from: the local file, or its copy in an object repository. A copy is
/// streamed (download, authenticate and decrypt, decompress) into a private temp file under the restore root while
/// its SHA-256 is taken, and handed on only once it matches the one recorded when the backup was taken; from there the
/// restore goes the same way as from a local backup. A wrong key, a damaged or tampered object or a repository that
/// cannot be reached ends the restore with a clear error before anything is touched.
/// </summary>
public sealed class BackupSources(RestoreCatalog restores, RepositoryCopyCatalog? copies = null, IBackupRepositories? repositories = null)
{
    /// <summary>
    /// The repository to read <paramref name="backup"/> from: <paramref name="requested"/> when it holds a restorable copy
    /// (404/409 otherwise), else the nearest good copy: the local file if present and not found bad, else the first
    /// verified copy in an object repository not found bad. Null when there is none.
    /// </summary>
    public string? Choose(BackupRun backup, string? requested, bool throwIfNone)
    {
        if (requested is not null)
        {
            if (string.Equals(requested, RepositoryListRules.Local, StringComparison.OrdinalIgnoreCase))
            {
                if (LocalPresent(backup) && restores.IsRestorable(backup.Id)) return RepositoryListRules.Local;
                if (!throwIfNone) return null;
                if (LocalPresent(backup))
                    throw new RestoreProblemException(409, "Backup not restorable", $"A restore drill of backup '{backup.Id}' failed; its local copy is marked not restorable.");
                throw new RestoreProblemException(404, "Backup not found", $"Backup '{backup.Id}' has no local copy any more (removed by retention or deleted).");
            }
            if (repositories is null || !repositories.TryGet(requested, out _))
                throw new RestoreProblemException(400, "Unknown repository", $"No repository named '{requested}' is configured; configured: {string.Join(", ", Names())}.",
                    errors: new Dictionary<string, string[]> { ["repository"] = [$"Unknown repository '{requested}'; configured: {string.Join(", ", Names())}."] });
            var copy = copies?.Get(backup.Id, requested);
            if (copy is { State: CopyState.Verified } && restores.IsRestorable(backup.Id, requested)) return requested;
            if (!throwIfNone) return null;
            if (copy is { State: CopyState.Verified })
                throw new RestoreProblemException(409, "Backup not restorable", $"A restore drill of backup '{backup.Id}' from repository '{requested}' failed; that copy is marked not restorable.");
            throw new RestoreProblemException(404, "Backup not found", copy is null
                ? $"Backup '{backup.Id}' was never to be copied into repository '{requested}'."
                : $"Backup '{backup.Id}' has no verified copy in repository '{requested}' ({copy.State}{(copy.Error is null ? "" : ": " + copy.Error)}).");
        }
        if (LocalPresent(backup) && restores.IsRestorable(backup.Id)) return RepositoryListRules.Local;
        if (copies is not null && repositories is not null)
            foreach (var copy in copies.List(backup.Id))
                if (copy.State == CopyState.Verified && repositories.TryGet(copy.Repository, out _) && restores.IsRestorable(backup.Id, copy.Repository))
                    return copy.Repository;
        if (!throwIfNone) return null;
        throw new RestoreProblemException(LocalPresent(backup) ? 409 : 404, LocalPresent(backup) ? "Backup not restorable" : "Backup not found",
            LocalPresent(backup) ? $"A restore drill of backup '{backup.Id}' failed; it is marked not restorable, and no other repository holds a good copy."
                : $"Backup '{backup.Id}' is held in no repository a restore can read (its local copy is gone and no object repository holds a verified copy).");
    }

    private static bool LocalPresent(BackupRun backup) => backup.PrunedAt is null && backup.File is not null && File.Exists(backup.File);

    private IEnumerable<string> Names() => ((IEnumerable<string>)[RepositoryListRules.Local]).Concat(repositories?.Names ?? []);

    /// <summary>
    /// The backup as a local file to restore from: the backup itself for <c>local</c>; for an object repository, a
    /// private temp file in <paramref name="directory"/> holding the downloaded copy, checked against the recorded
    /// SHA-256 (deleted when the result is disposed).
    /// </summary>
    /// <exception cref="RestoreProblemException">422 for a damaged copy or a wrong key, 503 when the repository cannot be reached.</exception>
    public async Task<StagedBackup> StageAsync(BackupRun backup, string repository, string directory, string id, CancellationToken cancellationToken)
    {
        if (string.Equals(repository, RepositoryListRules.Local, StringComparison.OrdinalIgnoreCase)) return new StagedBackup(backup, null);
        if (repositories is null || !repositories.TryGet(repository, out var repo) || copies?.StoredObject(backup.Id, repository) is not { } stored)
            throw new RestoreProblemException(404, "Backup not found", $"Backup '{backup.Id}' has no copy in repository '{repository}' to read.");
        var temp = Path.Combine(directory, $".{backup.Id[..12]}-{repository}-{id[..12]}.fetch{BackupFiles.PartialSuffix}");
        try
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            await using (var to = BackupFiles.CreatePrivate(temp, FileShare.None))
            await using (var from = await repo.OpenReadAsync(stored.Key, cancellationToken))
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
            var actual = Convert.ToHexStringLower(hash.GetHashAndReset());
            if (actual != backup.Checksum)
                throw new RepositoryContentException($"the copy of backup {backup.Id} in repository '{repository}' reads back with SHA-256 {actual}, not the {backup.Checksum} recorded when it was taken");
            return new StagedBackup(backup with { File = temp }, temp);
        }
        catch (Exception e)
        {
            SqliteRestoreFiles.TryDelete(temp);
            throw e switch
            {
                RepositoryKeyException => new RestoreProblemException(422, "Wrong encryption key",
                    $"Backup {backup.Id} cannot be read from repository '{repository}': {e.Message}. Nothing was restored or changed.", inner: e),
                RepositoryContentException => new RestoreProblemException(422, "Repository copy damaged",
                    $"The copy of backup {backup.Id} in repository '{repository}' is damaged or was changed: {e.Message}. It is not used; nothing was restored or changed.", inner: e),
                RepositoryUnavailableException => new RestoreProblemException(503, "Repository unavailable",
                    $"Repository '{repository}' could not be read: {e.Message}. Nothing was restored or changed.", inner: e),
                _ => e,
            };
        }
    }
}
