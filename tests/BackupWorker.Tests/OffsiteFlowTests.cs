using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Models;
using TestSupport;

namespace BackupWorker.Tests;

/// <summary>One real Azurite for the class: each test keeps to its own container, and they run one after another.</summary>
public sealed class AzuriteFixture : IAsyncLifetime, IOffsiteStore
{
    public AzuriteProcess Azurite { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        if (AzuriteProcess.MissingReason is null) Azurite = await AzuriteProcess.StartNewAsync();
    }

    public async Task DisposeAsync()
    {
        if (Azurite is not null) await Azurite.DisposeAsync();
    }

    public IReadOnlyDictionary<string, string?> Settings(string container) => new Dictionary<string, string?>
    {
        [$"ConnectionStrings:{OffsiteEngine.Offsite}"] = Azurite.ConnectionString,
        [$"Backup:Repositories:{OffsiteEngine.Offsite}:Kind"] = "AzureBlob",
        [$"Backup:Repositories:{OffsiteEngine.Offsite}:Container"] = container,
    };

    public Task KillAsync() => Azurite.KillAsync();

    public Task StartAsync() => Azurite.StartAsync();

    public async Task CorruptAsync(string container, string key)
    {
        var blob = new BlobContainerClient(Azurite.ConnectionString, container).GetBlobClient(key);
        var properties = (await blob.GetPropertiesAsync()).Value;
        var bytes = (await blob.DownloadContentAsync()).Value.Content.ToArray();
        bytes[bytes.Length / 2] ^= 0x01;
        await blob.UploadAsync(new BinaryData(bytes), new BlobUploadOptions { Metadata = properties.Metadata });
    }
}

/// <summary>The offsite flow against a real Azure Blob endpoint (Azurite).</summary>
public sealed class OffsiteFlowTests(AzuriteFixture fixture) : OffsiteFlowContract(fixture), IClassFixture<AzuriteFixture>
{
    [AzuriteFact]
    public Task A_zstd_backup_is_verified_offsite_encrypted_and_restores_and_drills_from_there_alone() => FromOffsiteAloneAsync("zstd");

    [AzuriteFact]
    public Task An_lz4_backup_is_verified_offsite_encrypted_and_restores_and_drills_from_there_alone() => FromOffsiteAloneAsync("lz4");

    [AzuriteFact]
    public Task Storage_stopped_during_an_upload_leaves_the_copy_pending_the_local_backup_kept_and_the_retry_verifies_it() => StorageStoppedDuringAnUploadAsync();

    [AzuriteFact]
    public Task A_corrupted_blob_fails_its_drill_and_its_restore_and_nothing_is_restored_or_changed() => CorruptedObjectAsync();

    [AzuriteFact]
    public Task A_wrong_key_is_a_clear_restore_error_that_touches_nothing_and_a_drill_with_it_proves_nothing() => WrongKeyAsync();

    [AzuriteFact]
    public Task Two_workers_on_one_catalog_make_each_copy_once_and_list_it_as_it_is() => TwoWorkersOnOneCatalogAsync();

    [AzuriteFact]
    public Task A_copy_claimed_by_a_worker_that_died_is_taken_over_and_verified() => CopyLeftByADeadWorkerAsync();
}
