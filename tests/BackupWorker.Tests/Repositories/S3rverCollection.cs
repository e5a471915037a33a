namespace BackupWorker.Tests.Repositories;

/// <summary>The classes that share one s3rver: each test keeps to its own bucket, and they run one after another.</summary>
[CollectionDefinition(Name)]
public sealed class S3rverCollection : ICollectionFixture<S3rverFixture>
{
    public const string Name = "s3rver";
}
