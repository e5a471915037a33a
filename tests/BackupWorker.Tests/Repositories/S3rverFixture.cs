using BackupWorker.Repositories.S3;

namespace BackupWorker.Tests.Repositories;

/// <summary>One s3rver for the classes of <see cref="S3rverCollection"/> (none when it is not installed: the tests skip then).</summary>
public sealed class S3rverFixture : IAsyncLifetime, IOffsiteStore
{
    private S3rverProcess? _s3rver;

    public S3rverProcess S3rver => _s3rver ?? throw new InvalidOperationException(S3rverProcess.MissingReason ?? "s3rver is not started.");

    public async Task InitializeAsync()
    {
        if (S3rverProcess.MissingReason is null) _s3rver = await S3rverProcess.StartNewAsync();
    }

    public async Task DisposeAsync()
    {
        if (_s3rver is not null) await _s3rver.DisposeAsync();
    }

    public IReadOnlyDictionary<string, string?> Settings(string container) => new Dictionary<string, string?>
    {
        [$"Backup:Repositories:{OffsiteEngine.Offsite}:Kind"] = "S3",
        [$"Backup:Repositories:{OffsiteEngine.Offsite}:Container"] = container,
        [$"Backup:Repositories:{OffsiteEngine.Offsite}:ServiceUrl"] = S3rver.ServiceUrl,
        [$"Backup:Repositories:{OffsiteEngine.Offsite}:ForcePathStyle"] = "true",
        [$"Backup:Repositories:{OffsiteEngine.Offsite}:AccessKeyId"] = S3rverProcess.AccessKeyId,
        [$"Backup:Repositories:{OffsiteEngine.Offsite}:SecretAccessKey"] = S3rverProcess.SecretAccessKey,
    };

    public Task KillAsync() => S3rver.KillAsync();

    public Task StartAsync() => S3rver.StartAsync();

    /// <summary>Corrupts the bytes the manifest at <paramref name="key"/> names (no prefix in the flow tests).</summary>
    public async Task CorruptAsync(string container, string key)
    {
        using var s3 = S3rver.Client();
        var upload = (await s3.GetObjectMetadataAsync(container, key)).Metadata[S3Layout.UploadMetadata];
        await S3Objects.FlipByteAsync(s3, container, new S3Layout("").Bytes(key, upload));
    }
}
