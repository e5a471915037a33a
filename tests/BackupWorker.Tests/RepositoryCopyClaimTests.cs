using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Repositories;
using Microsoft.Data.Sqlite;

namespace BackupWorker.Tests;

/// <summary>
/// Worker replicas share one catalog: a copy into an object repository is claimed by one live process at a time, what
/// an attempt records holds only while its claim does, and a claim left by a process that died is taken over. Each
/// <see cref="ClaimOwner"/> stands for one worker process.
/// </summary>
public sealed class RepositoryCopyClaimTests : IDisposable
{
    private static readonly DateTimeOffset Now = new(2026, 12, 8, 3, 0, 0, TimeSpan.Zero);
    private static readonly RepositoryObject Stored = new("db/backup.db", 10, 20, "aa", "bb", "zstd", true);
    private readonly string _directory = Directory.CreateTempSubdirectory("backupworker-claims-").FullName;
    private readonly BackupPaths _paths;

    public RepositoryCopyClaimTests() => _paths = BackupPaths.From(new BackupOptions { DataDirectory = _directory }, _directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void A_copy_is_claimed_by_one_live_worker_and_only_its_claim_records_the_attempt()
    {
        using var firstProcess = new ClaimOwner(_paths);
        using var secondProcess = new ClaimOwner(_paths);
        var first = new RepositoryCopyCatalog(_paths, firstProcess);
        var second = new RepositoryCopyCatalog(_paths, secondProcess);
        first.AddPending("run-1", ["offsite"], Now);

        // The worker that made the backup holds its copy from the start; the other leaves it alone and can record nothing.
        Assert.False(second.TryClaim("run-1", "offsite"));
        Assert.False(second.SetCopied("run-1", "offsite", Stored, Now));
        Assert.False(second.SetPending("run-1", "offsite", "error", 1, Now, Now));
        Assert.True(first.TryClaim("run-1", "offsite"));
        Assert.True(first.SetCopied("run-1", "offsite", Stored, Now));
        Assert.False(second.SetVerified("run-1", "offsite", Now));
        Assert.Equal(CopyState.Copied, first.Get("run-1", "offsite")!.State);

        // Pending again, the claim ends with the attempt: either worker may make the next one, but only one at a time.
        Assert.True(first.SetPending("run-1", "offsite", "read back wrong", 1, Now, Now));
        Assert.True(second.TryClaim("run-1", "offsite"));
        Assert.False(first.TryClaim("run-1", "offsite"));
        Assert.True(second.SetVerified("run-1", "offsite", Now));

        // Verified is final: nobody claims it again, nobody's late result changes it, and the backup counts as made.
        Assert.False(first.TryClaim("run-1", "offsite"));
        Assert.False(first.SetPending("run-1", "offsite", "late", 2, Now, Now));
        var copy = second.Get("run-1", "offsite")!;
        Assert.Equal((CopyState.Verified, 1, (string?)null), (copy.State, copy.Attempts, copy.Error));
        Assert.Equal("aa", second.StoredObject("run-1", "offsite")!.StoredSha256);
    }

    [Fact]
    public void A_claim_of_a_worker_that_died_is_taken_over_and_one_of_this_worker_taken_again()
    {
        using var survivorProcess = new ClaimOwner(_paths);
        var deadProcess = new ClaimOwner(_paths);
        var survivor = new RepositoryCopyCatalog(_paths, survivorProcess);
        var dead = new RepositoryCopyCatalog(_paths, deadProcess);
        dead.AddPending("run-1", ["offsite"], Now);
        survivor.AddPending("run-2", ["offsite"], Now);
        Assert.False(survivor.TryClaim("run-1", "offsite"));

        deadProcess.Dispose(); // its process died: the kernel dropped its lock
        Assert.True(survivor.TryClaim("run-1", "offsite"));
        // An attempt of this process that ended without recording how left its claim: the next attempt here takes it.
        Assert.True(survivor.TryClaim("run-2", "offsite"));
        Assert.True(survivor.TryClaim("run-2", "offsite"));
        survivor.Release("run-2", "offsite");
        using var lateProcess = new ClaimOwner(_paths);
        var late = new RepositoryCopyCatalog(_paths, lateProcess);
        Assert.True(late.TryClaim("run-2", "offsite"));
        Assert.False(survivor.SetVerified("run-2", "offsite", Now));
    }

    [Fact]
    public void A_catalog_written_before_claims_is_upgraded_with_its_copies_as_they_were()
    {
        // The table as catalogs wrote it before claims: one copy verified, one pending.
        Directory.CreateDirectory(_paths.DataDirectory);
        using (var connection = new SqliteConnection($"Data Source={_paths.CatalogFile};Pooling=false"))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = """
                CREATE TABLE repository_copies(
                  run_id TEXT NOT NULL, repository TEXT NOT NULL, state TEXT NOT NULL, key TEXT,
                  stored_bytes INTEGER, original_bytes INTEGER, stored_sha256 TEXT, original_sha256 TEXT, compression TEXT, encrypted INTEGER,
                  attempts INTEGER NOT NULL DEFAULT 0, next_attempt_at TEXT, error TEXT, verified_at TEXT, updated_at TEXT NOT NULL,
                  PRIMARY KEY(run_id, repository));
                INSERT INTO repository_copies VALUES('run-1', 'offsite', 'Verified', 'db/a.db', 10, 20, 'aa', 'bb', 'zstd', 1, 1, NULL, NULL,
                  '2026-12-01T00:00:00.0000000Z', '2026-12-01T00:00:00.0000000Z');
                INSERT INTO repository_copies(run_id, repository, state, attempts, next_attempt_at, error, updated_at)
                  VALUES('run-2', 'offsite', 'Pending', 3, '2026-12-01T00:00:00.0000000Z', 'down', '2026-12-01T00:00:00.0000000Z');
                """;
            command.ExecuteNonQuery();
        }

        using var process = new ClaimOwner(_paths);
        var copies = new RepositoryCopyCatalog(_paths, process);
        _ = new BackupCatalog(_paths); // the other door into the table upgrades nothing twice

        var verified = copies.Get("run-1", "offsite")!;
        Assert.Equal((CopyState.Verified, "db/a.db", 20L), (verified.State, verified.Key, copies.StoredObject("run-1", "offsite")!.OriginalBytes));
        Assert.False(copies.TryClaim("run-1", "offsite"));
        var pending = Assert.Single(copies.ListDue(Now));
        Assert.Equal(("run-2", 3, "down"), (pending.RunId, pending.Copy.Attempts, pending.Copy.Error));
        Assert.True(copies.TryClaim("run-2", "offsite"));
        Assert.True(copies.SetVerified("run-2", "offsite", Now));
    }
}
