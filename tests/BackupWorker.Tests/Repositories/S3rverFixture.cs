namespace BackupWorker.Tests.Repositories;

/// <summary>One s3rver for a test class (none when it is not installed: the tests skip then).</summary>
public sealed class S3rverFixture : IAsyncLifetime
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
}
