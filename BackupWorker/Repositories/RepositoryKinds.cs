namespace BackupWorker.Repositories;

/// <summary>The kinds of object storage a repository can be.</summary>
public static class RepositoryKinds
{
    public const string AzureBlob = "AzureBlob";
    public const string S3 = "S3";
}
