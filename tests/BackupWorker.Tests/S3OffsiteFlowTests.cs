using BackupWorker.Tests.Repositories;

namespace BackupWorker.Tests;

/// <summary>
/// The offsite flow against a real S3 endpoint (s3rver, shared with the S3 repository tests). lz4 and two workers on
/// one catalog are left to the Azure class: compression and the catalog's claims are the same code whatever the store.
/// </summary>
[Collection(S3rverCollection.Name)]
public sealed class S3OffsiteFlowTests(S3rverFixture fixture) : OffsiteFlowContract(fixture)
{
    [S3rverFact]
    public Task A_zstd_backup_is_verified_in_s3_encrypted_and_restores_and_drills_from_there_alone() => FromOffsiteAloneAsync("zstd");

    [S3rverFact]
    public Task S3_stopped_during_an_upload_leaves_the_copy_pending_the_local_backup_kept_and_the_retry_verifies_it() => StorageStoppedDuringAnUploadAsync();

    [S3rverFact]
    public Task A_corrupted_s3_object_fails_its_drill_and_its_restore_and_nothing_is_restored_or_changed() => CorruptedObjectAsync();

    [S3rverFact]
    public Task A_wrong_key_on_s3_is_a_clear_restore_error_that_touches_nothing_and_a_drill_with_it_proves_nothing() => WrongKeyAsync();
}
