using System.Diagnostics;
using System.Security.Cryptography;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;

namespace BackupWorker.Backups;

/// <summary>
/// Performs one backup run: resolve the database, write the copy to a temp file beside its final name, verify it,
/// checksum it, rename it into place atomically, record it in the catalog, then apply the schedule's retention.
/// Every run gets its own id and file name, so concurrent deliveries of one trigger produce separate complete backups.
/// </summary>
public sealed class BackupRunner(
    BackupCatalog catalog,
    BackupPaths paths,
    IOptions<BackupOptions> options,
    IEnumerable<IDatabaseBackupProvider> providers,
    BackupTelemetry telemetry,
    TimeProvider time,
    ILogger<BackupRunner> logger)
{
    public const string ChecksumExtension = ".sha256";

    public async Task<BackupRun> RunAsync(string schedule, BackupMetadata target, string trigger, CancellationToken cancellationToken)
    {
        var started = time.GetUtcNow();
        var run = new BackupRun(Guid.NewGuid().ToString("N"), schedule, target.DBName ?? "", trigger, started, null, null, null, null, RunOutcome.Running, null, null);
        catalog.InsertRun(run);
        logger.RunStarted(run.Id, schedule, run.Database, trigger);
        using var activity = BackupTelemetry.Source.StartActivity("backup " + run.Database);
        activity?.SetTag("backup.run_id", run.Id);
        activity?.SetTag("backup.schedule", schedule);
        activity?.SetTag("db.name", run.Database);

        string? tempFile = null;
        try
        {
            var (provider, database) = Resolve(run.Database);
            if (string.IsNullOrWhiteSpace(target.BackupLocation))
                throw new BackupFailedException("The job payload has no metadata.BackupLocation.");
            var directory = paths.Resolve(target.BackupLocation);
            Directory.CreateDirectory(directory);

            var fileName = $"{SafeFileName(run.Database)}-{started.UtcDateTime:yyyyMMdd'T'HHmmssfff'Z'}-{run.Id[..12]}{provider.FileExtension}";
            var finalFile = Path.Combine(directory, fileName);
            // Same directory as the final file, so the rename below is atomic (never a half-written backup under its real name).
            tempFile = Path.Combine(directory, $".{fileName}.partial");

            await provider.BackupAsync(run.Database, database, tempFile, cancellationToken);
            await provider.VerifyAsync(tempFile, cancellationToken);
            var checksum = await Sha256Async(tempFile, cancellationToken);
            var bytes = new FileInfo(tempFile).Length;
            File.Move(tempFile, finalFile, overwrite: false);
            tempFile = null;
            await WriteChecksumFileAsync(finalFile, checksum, cancellationToken);

            var ended = time.GetUtcNow();
            run = run with { EndedAt = ended, Bytes = bytes, Checksum = checksum, File = finalFile, Outcome = RunOutcome.Succeeded };
            catalog.CompleteRun(run);
            var seconds = (ended - started).TotalSeconds;
            logger.RunSucceeded(run.Id, schedule, run.Database, finalFile, bytes, checksum, seconds);
            telemetry.Runs.Add(1, new("outcome", "succeeded"), new("db.name", run.Database));
            telemetry.Bytes.Add(bytes, new KeyValuePair<string, object?>("db.name", run.Database));
            telemetry.Duration.Record(seconds, new("outcome", "succeeded"), new("db.name", run.Database));

            ApplyRetention(schedule, run.Id);
            return run;
        }
        // Whatever went wrong, the run must end recorded as failed and the trigger answered, never left "Running".
        catch (Exception e)
        {
            if (tempFile is not null) TryDelete(tempFile);
            var ended = time.GetUtcNow();
            var error = e is OperationCanceledException ? $"The backup was cancelled or exceeded its time limit ({options.Value.RunTimeout})." : e.Message;
            run = run with { EndedAt = ended, Outcome = RunOutcome.Failed, Error = error };
            catalog.CompleteRun(run);
            logger.RunFailed(run.Id, schedule, error);
            activity?.SetStatus(ActivityStatusCode.Error, error);
            telemetry.Runs.Add(1, new("outcome", "failed"), new("db.name", run.Database));
            telemetry.Duration.Record((ended - started).TotalSeconds, new("outcome", "failed"), new("db.name", run.Database));
            return run;
        }
    }

    /// <summary>Records a run that failed before it could start (e.g. an unreadable payload).</summary>
    public BackupRun RecordFailure(string schedule, string database, string trigger, string error)
    {
        var now = time.GetUtcNow();
        var run = new BackupRun(Guid.NewGuid().ToString("N"), schedule, database, trigger, now, now, null, null, null, RunOutcome.Failed, error, null);
        catalog.InsertRun(run);
        logger.RunFailed(run.Id, schedule, error);
        telemetry.Runs.Add(1, new("outcome", "failed"), new("db.name", database));
        return run;
    }

    public bool IsKnownDatabase(string name) => options.Value.Databases.ContainsKey(name);

    public IReadOnlyCollection<string> KnownDatabases => options.Value.Databases.Keys;

    private (IDatabaseBackupProvider Provider, DatabaseOptions Database) Resolve(string name)
    {
        if (!options.Value.Databases.TryGetValue(name, out var database))
        {
            throw new BackupFailedException(
                $"Unknown database '{name}': no Backup:Databases:{name} is configured (configured: {string.Join(", ", options.Value.Databases.Keys.Order())}).");
        }
        var provider = providers.FirstOrDefault(p => p.Provider.Equals(database.Provider, StringComparison.OrdinalIgnoreCase))
            ?? throw new BackupFailedException($"Database '{name}' has provider '{database.Provider}'; supported: {string.Join(", ", providers.Select(p => p.Provider))}.");
        return (provider, database);
    }

    private void ApplyRetention(string schedule, string currentRunId)
    {
        var rule = catalog.GetSchedule(schedule)?.Retention;
        if (rule is null || rule.IsEmpty) return;
        var now = time.GetUtcNow();
        var backups = catalog.ListBackups(schedule: schedule);
        for (var i = 0; i < backups.Count; i++)
        {
            var backup = backups[i];
            if (backup.Id == currentRunId) continue; // Never remove what this run just made.
            var tooMany = rule.KeepLast is { } keep && i >= keep;
            var tooOld = rule.MaxAge is { } age && now - backup.StartedAt > age;
            if (!tooMany && !tooOld) continue;
            try
            {
                if (backup.File is not null)
                {
                    File.Delete(backup.File);
                    File.Delete(backup.File + ChecksumExtension);
                }
                catalog.MarkPruned(backup.Id, now);
                telemetry.Pruned.Add(1, new KeyValuePair<string, object?>("db.name", backup.Database));
                logger.Pruned(schedule, backup.File ?? backup.Id);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                logger.PruneFailed(backup.File ?? backup.Id, e.Message);
            }
        }
    }

    private static async Task<string> Sha256Async(string file, CancellationToken cancellationToken)
    {
        await using var stream = File.OpenRead(file);
        return Convert.ToHexStringLower(await SHA256.HashDataAsync(stream, cancellationToken));
    }

    /// <summary>Writes <c>&lt;file&gt;.sha256</c> in sha256sum's format, so <c>sha256sum -c</c> verifies it.</summary>
    private static async Task WriteChecksumFileAsync(string file, string checksum, CancellationToken cancellationToken)
    {
        var target = file + ChecksumExtension;
        var temp = Path.Combine(Path.GetDirectoryName(file)!, "." + Path.GetFileName(target) + ".partial");
        await File.WriteAllTextAsync(temp, $"{checksum}  {Path.GetFileName(file)}\n", cancellationToken);
        File.Move(temp, target, overwrite: true);
    }

    private static string SafeFileName(string name)
    {
        var invalid = Path.GetInvalidFileNameChars();
        var safe = new string(name.Select(c => invalid.Contains(c) || c == ' ' ? '_' : c).ToArray());
        return safe.Length == 0 ? "database" : safe;
    }

    private static void TryDelete(string file)
    {
        try { File.Delete(file); } catch (IOException) { } catch (UnauthorizedAccessException) { }
    }
}
