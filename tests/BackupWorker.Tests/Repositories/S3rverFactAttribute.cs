namespace BackupWorker.Tests.Repositories;

/// <summary>Skips a test, saying why, when s3rver is not installed (test.sh installs it).</summary>
public sealed class S3rverFactAttribute : FactAttribute
{
    public S3rverFactAttribute()
    {
        if (S3rverProcess.MissingReason is { } reason) Skip = reason;
    }
}
