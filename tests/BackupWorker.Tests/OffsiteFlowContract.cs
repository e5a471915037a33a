using BackupWorker.Backups;
using BackupWorker.Hosting;
using BackupWorker.Restore;
using Shared;

namespace BackupWorker.Tests;

/// <summary>
/// Backups copied into a real object store (one class per kind of store: Azurite, s3rver), compressed and encrypted,
/// and what a restore, a drill and retention do with them. Each test says what happens to the database's last
/// restorable backup. A kind's class names the tests it runs, each with the attribute that skips it when its store is
/// not installed.
/// </summary>
public abstract class OffsiteFlowContract(IOffsiteStore store)
{
    private static readonly TimeSpan Bound = TimeSpan.FromSeconds(60);

    private OffsiteEngine Engine(string container, string compression = "zstd")
    {
        var engine = new OffsiteEngine(store, container, compression);
        engine.SeedDemoDatabase();
        return engine;
    }

    private static long Rows(string file)
    {
        using var connection = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT count(*) FROM orders";
        return (long)command.ExecuteScalar()!;
    }

    protected async Task FromOffsiteAloneAsync(string compression)
    {
        using var engine = Engine("flow-" + compression, compression);
        engine.Schedule("nightly");
        var manifestRows = Rows(engine.SeedDemoDatabase());

        var run = await engine.RunAsync("nightly");

        // Made in both: the local copy and the offsite one, read back end to end before it counted.
        Assert.True(run.Complete, string.Join("; ", run.Copies!.Select(c => $"{c.Repository} {c.State} {c.Error}")));
        var offsite = Assert.Single(run.Copies!, c => c.Repository == OffsiteEngine.Offsite);
        Assert.Equal((CopyState.Verified, compression, true), (offsite.State, offsite.Compression, offsite.Encrypted));
        var stored = engine.Copies.StoredObject(run.Id, OffsiteEngine.Offsite)!;
        Assert.Equal((run.Checksum, run.Bytes), (stored.OriginalSha256, stored.OriginalBytes));
        Assert.True(stored.StoredBytes < stored.OriginalBytes, $"{compression}: {stored.StoredBytes} stored of {stored.OriginalBytes}");

        // The machine's disk is lost: only the offsite copy is left. The backup is still listed, and restorable from there.
        File.Delete(run.File!);
        Assert.Equal([run.Id], engine.Catalog.ListBackups(schedule: "nightly").Select(b => b.Id));
        var restored = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: run.Id, Target: "from-offsite.db"), CancellationToken.None);
        Assert.Equal((RunOutcome.Succeeded, OffsiteEngine.Offsite), (restored.Outcome, restored.Repository));
        Assert.Equal(manifestRows, Rows(restored.Target));
        var drill = await engine.Drills.DrillAsync(run, "manual", CancellationToken.None, repository: OffsiteEngine.Offsite);
        Assert.True(drill.Outcome == DrillOutcome.Succeeded, drill.Error);
        Assert.Equal(OffsiteEngine.Offsite, drill.Repository);
        // Nothing downloaded is left behind.
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(engine.RestoreRoot, "fetched")));
    }

    protected async Task StorageStoppedDuringAnUploadAsync()
    {
        using var engine = Engine("flow-outage");
        engine.Schedule("hourly", new RetentionRule(1, null));
        var first = await engine.RunAsync("hourly");
        Assert.True(first.Complete);

        // The next upload is held after its first bytes while the storage goes away.
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Copier.UploadSource = file => new HeldStream(file, reading, release.Task);
        var running = engine.RunAsync("hourly");
        await reading.Task.WaitAsync(Bound);
        await store.KillAsync(); // as an outage ends it: what it had not saved (Azurite: containers included) is lost
        release.SetResult();
        var second = await running.WaitAsync(Bound);
        engine.Copier.UploadSource = file => file;

        // Made locally, not yet offsite: shown pending with the error and the next attempt; nothing half-written counts.
        Assert.False(second.Complete);
        var pending = Assert.Single(second.Copies!, c => c.Repository == OffsiteEngine.Offsite);
        Assert.Equal(CopyState.Pending, pending.State);
        Assert.NotNull(pending.Error);
        Assert.NotNull(pending.NextAttemptAt);
        Assert.Null(await GetQuietlyAsync(engine, second));
        // Last restorable backup: locally the new one (retention keepLast 1 removed the first there); offsite the first
        // stays, since that repository's retention runs only after a new copy is verified there.
        Assert.True(File.Exists(second.File));
        Assert.False(File.Exists(first.File));
        Assert.Equal(CopyState.Verified, engine.Copies.Get(first.Id, OffsiteEngine.Offsite)!.State);
        Assert.Equal([second.Id, first.Id], engine.Catalog.ListBackups(schedule: "hourly").Select(b => b.Id));

        // Not due yet: nothing is tried. Once the storage is back and the back-off has run out, the copy is verified.
        Assert.Empty(await engine.Retry.RetryDueAsync(CancellationToken.None));
        await store.StartAsync();
        engine.Time.Advance(engine.Options.CopyRetryInitialDelay);
        var retried = Assert.Single(await engine.Retry.RetryDueAsync(CancellationToken.None));
        Assert.True(retried.State == CopyState.Verified, retried.Error);
        Assert.True(File.Exists(second.File));
        Assert.True(engine.Copies.Attach(engine.Catalog.GetRun(second.Id)!).Complete);
        // Now offsite retention keeps one there too: the first backup is gone everywhere, the second is in both.
        Assert.Equal(CopyState.Pruned, engine.Copies.Get(first.Id, OffsiteEngine.Offsite)!.State);
        Assert.Null(await engine.Repository.GetAsync(engine.Copier.KeyOf(first), CancellationToken.None));
        Assert.Equal([second.Id], engine.Catalog.ListBackups(schedule: "hourly").Select(b => b.Id));
    }

    protected async Task CorruptedObjectAsync()
    {
        using var engine = Engine("flow-corrupt");
        engine.Schedule("nightly");
        var run = await engine.RunAsync("nightly");
        var key = engine.Copier.KeyOf(run);

        // One byte in the middle of the stored object flipped behind the worker's back, its metadata kept.
        await store.CorruptAsync("flow-corrupt", key);

        var drill = await engine.Drills.DrillAsync(run, "manual", CancellationToken.None, repository: OffsiteEngine.Offsite);
        Assert.True(drill.Outcome == DrillOutcome.Failed, $"{drill.Outcome}: {drill.Error}");
        var refused = await Assert.ThrowsAsync<RestoreProblemException>(() =>
            engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: run.Id, Target: "never.db", Repository: OffsiteEngine.Offsite), CancellationToken.None));
        Assert.Equal(409, refused.Status); // the drill marked that copy not restorable
        Assert.False(File.Exists(Path.Combine(engine.RestoreRoot, "never.db")));

        // Last restorable backup: the local copy, whose verdict is its own; a restore without a repository takes it.
        Assert.True(engine.Restores.IsRestorable(run.Id));
        Assert.False(engine.Restores.IsRestorable(run.Id, OffsiteEngine.Offsite));
        var restored = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: run.Id, Target: "from-local.db"), CancellationToken.None);
        Assert.Equal(RepositoryListRules.Local, restored.Repository);

        // Without the local copy and without a drill's verdict (a second backup), the damaged object is found by the restore itself.
        var second = await engine.RunAsync("nightly");
        await store.CorruptAsync("flow-corrupt", engine.Copier.KeyOf(second));
        File.Delete(second.File!);
        var failed = await Assert.ThrowsAsync<RestoreProblemException>(() =>
            engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: second.Id, Target: "damaged.db"), CancellationToken.None));
        Assert.Equal((422, "Repository copy damaged", RunOutcome.Failed), (failed.Status, failed.Title, failed.Record!.Outcome));
        Assert.False(File.Exists(Path.Combine(engine.RestoreRoot, "damaged.db")));
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(engine.RestoreRoot, "fetched")));
    }

    protected async Task WrongKeyAsync()
    {
        using var engine = Engine("flow-key");
        engine.Schedule("nightly");
        var run = await engine.RunAsync("nightly");
        File.Delete(run.File!);

        engine.UseKey(OffsiteEngine.NewKey());
        var failed = await Assert.ThrowsAsync<RestoreProblemException>(() =>
            engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: run.Id, Target: "wrong-key.db"), CancellationToken.None));
        Assert.Equal((422, "Wrong encryption key"), (failed.Status, failed.Title));
        Assert.DoesNotContain(engine.Key, failed.Message);
        Assert.False(File.Exists(Path.Combine(engine.RestoreRoot, "wrong-key.db")));
        var drill = await engine.Drills.DrillAsync(run, "manual", CancellationToken.None, repository: OffsiteEngine.Offsite);
        Assert.Equal(DrillOutcome.Inconclusive, drill.Outcome);

        // Last restorable backup: the offsite copy is untouched and restores with the right key.
        Assert.True(engine.Restores.IsRestorable(run.Id, OffsiteEngine.Offsite));
        engine.UseKey(engine.Key);
        var restored = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: run.Id, Target: "right-key.db"), CancellationToken.None);
        Assert.Equal(RunOutcome.Succeeded, restored.Outcome);
    }

    protected async Task TwoWorkersOnOneCatalogAsync()
    {
        using var engine = Engine("flow-two-workers");
        engine.Schedule("nightly");
        var other = engine.AnotherWorker();
        var otherUploads = 0;
        other.Copier.UploadSource = file =>
        {
            Interlocked.Increment(ref otherUploads);
            return file;
        };

        // This worker's upload is held mid-way. The other worker's retry pass finds the copy due (recorded pending at
        // the backup's end), but claimed by a live worker: it leaves it alone.
        var reading = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        engine.Copier.UploadSource = file => new HeldStream(file, reading, release.Task);
        var running = engine.RunAsync("nightly");
        await reading.Task.WaitAsync(Bound);
        Assert.Empty(await other.Retry.RetryDueAsync(CancellationToken.None));
        release.SetResult();
        var run = await running.WaitAsync(Bound);

        // Made once, by the worker that ran the backup, and listed as it is: verified, so complete.
        Assert.Equal(0, otherUploads);
        var offsite = Assert.Single(run.Copies!, c => c.Repository == OffsiteEngine.Offsite);
        Assert.True(offsite.State == CopyState.Verified, offsite.Error);
        Assert.True(run.Complete);
        Assert.Empty(await other.Retry.RetryDueAsync(CancellationToken.None));
        Assert.Equal(0, otherUploads);

        // Last restorable backup: the local copy is kept, and the object holds what the catalog recorded, so the backup
        // restores from offsite alone.
        Assert.True(File.Exists(run.File));
        var stored = engine.Copies.StoredObject(run.Id, OffsiteEngine.Offsite)!;
        Assert.Equal(stored.StoredSha256, (await engine.Repository.GetAsync(stored.Key, CancellationToken.None))!.StoredSha256);
        File.Delete(run.File!);
        var restored = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: run.Id, Target: "two-workers.db"), CancellationToken.None);
        Assert.Equal((RunOutcome.Succeeded, OffsiteEngine.Offsite), (restored.Outcome, restored.Repository));
    }

    protected async Task CopyLeftByADeadWorkerAsync()
    {
        using var engine = Engine("flow-dead-worker");
        engine.Schedule("nightly");

        // The other worker records its backup, then stops in its drill, before copying: its claim on the copy stands
        // while it lives, and this worker's retry pass leaves the copy alone.
        var stopped = new StoppingHook();
        var other = engine.AnotherWorker(stopped);
        using var dies = new CancellationTokenSource();
        var running = other.Runner.RunAsync("nightly", new BackupMetadata("my-prod-db", "nightly"), "job", dies.Token);
        await stopped.Entered.Task.WaitAsync(Bound);
        Assert.Empty(await engine.Retry.RetryDueAsync(CancellationToken.None));

        // It dies: the kernel drops its lock, and its run never comes back to the copy.
        other.Owner.Dispose();
        await dies.CancelAsync();
        var run = await running.WaitAsync(Bound);
        Assert.Equal(RunOutcome.Succeeded, run.Outcome);
        Assert.Equal(CopyState.Pending, engine.Copies.Get(run.Id, OffsiteEngine.Offsite)!.State);

        // The copy waits for no one: this worker's next pass takes it over and verifies it.
        var copy = Assert.Single(await engine.Retry.RetryDueAsync(CancellationToken.None));
        Assert.True(copy.State == CopyState.Verified, copy.Error);
        Assert.True(engine.Copies.Attach(engine.Catalog.GetRun(run.Id)!).Complete);
        // Last restorable backup: kept locally, and now restorable from offsite alone.
        Assert.True(File.Exists(run.File));
        File.Delete(run.File!);
        var restored = await engine.RestoreService.RestoreAsync(new RestoreRequest(BackupId: run.Id, Target: "taken-over.db"), CancellationToken.None);
        Assert.Equal((RunOutcome.Succeeded, OffsiteEngine.Offsite), (restored.Outcome, restored.Repository));
    }

    private static async Task<BackupWorker.Repositories.RepositoryObject?> GetQuietlyAsync(OffsiteEngine engine, BackupRun run)
    {
        try
        {
            return await engine.Repository.GetAsync(engine.Copier.KeyOf(run), CancellationToken.None);
        }
        catch (BackupWorker.Repositories.RepositoryUnavailableException)
        {
            return null; // the storage is down: it holds nothing we could take for a backup either
        }
    }

    /// <summary>A read stream that tells when it is first read, then holds every read until released.</summary>
    private sealed class HeldStream(Stream inner, TaskCompletionSource reading, Task release) : Stream
    {
        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => inner.Length;
        public override long Position { get => inner.Position; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer.AsMemory(offset, count)).AsTask().GetAwaiter().GetResult();
        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var read = await inner.ReadAsync(buffer[..Math.Min(buffer.Length, 4096)], cancellationToken);
            reading.TrySetResult();
            await release.WaitAsync(cancellationToken);
            return read;
        }
        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        protected override void Dispose(bool disposing)
        {
            if (disposing) inner.Dispose();
            base.Dispose(disposing);
        }
    }

    /// <summary>A drill hook in which the worker stops: it tells when it is entered, then waits for the run's cancellation.</summary>
    private sealed class StoppingHook : IVerifiedBackupHook
    {
        public TaskCompletionSource Entered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task<DatabaseManifest?> CaptureManifestAsync(string provider, string backupFile, CancellationToken cancellationToken) =>
            Task.FromResult<DatabaseManifest?>(null);

        public async Task<string?> AfterVerifiedBackupAsync(BackupRun run, DatabaseManifest? manifest, CancellationToken cancellationToken)
        {
            Entered.TrySetResult();
            await Task.Delay(Timeout.Infinite, cancellationToken);
            return null;
        }

        public bool IsRestorable(string backupId) => true;
    }
}
