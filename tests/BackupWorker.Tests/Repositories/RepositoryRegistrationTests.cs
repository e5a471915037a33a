using System.Security.Cryptography;
using BackupWorker.Repositories;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using TestSupport;

namespace BackupWorker.Tests.Repositories;

/// <summary>Configuration to repositories: what is accepted, and what stops the worker before any backup (no network).</summary>
public sealed class RepositoryRegistrationTests
{
    private static readonly string Key = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private const string Connection = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + AzuriteProcess.AccountKey + ";BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;";

    [Fact]
    public void A_configured_repository_is_registered_under_its_name_and_describes_itself_without_secrets()
    {
        var repositories = Build(new()
        {
            ["ConnectionStrings:offsite"] = Connection,
            ["Backup:Repositories:offsite:Kind"] = "AzureBlob",
            ["Backup:Repositories:offsite:Compression"] = "lz4",
            ["Backup:Repositories:offsite:EncryptionKey"] = Key,
        }).GetRequiredService<IBackupRepositories>();

        Assert.Equal(["offsite"], repositories.Names);
        Assert.True(repositories.TryGet("offsite", out var repository));
        Assert.Equal(new RepositoryDescription("offsite", "AzureBlob", "backups", "lz4", null, true), repository.Describe());
        Assert.DoesNotContain(Key, repository.Describe().ToString());
        Assert.DoesNotContain(AzuriteProcess.AccountKey, repository.Describe().ToString());
    }

    [Fact]
    public void No_configuration_means_no_repositories()
    {
        Assert.Empty(Build([]).GetRequiredService<IBackupRepositories>().Names);
    }

    [Theory]
    [InlineData("local", "AzureBlob", "zstd", "valid", "local backup root")]
    [InlineData("offsite", "Gcs", "zstd", "valid", "Kind")]
    [InlineData("offsite", "AzureBlob", "brotli", "valid", "Compression")]
    [InlineData("offsite", "AzureBlob", "zstd", "c2hvcnQ=", "EncryptionKey")]
    [InlineData("offsite", "AzureBlob", "zstd", "missing-connection", "ConnectionStrings:offsite is missing")]
    public void A_repository_that_cannot_work_stops_the_start_and_says_why_without_the_key(string name, string kind, string compression, string key, string expected)
    {
        var settings = new Dictionary<string, string?>
        {
            [$"Backup:Repositories:{name}:Kind"] = kind,
            [$"Backup:Repositories:{name}:Compression"] = compression,
            [$"Backup:Repositories:{name}:EncryptionKey"] = key == "valid" || key == "missing-connection" ? Key : key,
        };
        if (key != "missing-connection") settings[$"ConnectionStrings:{name}"] = Connection;

        var error = Assert.Throws<OptionsValidationException>(() => Build(settings).GetRequiredService<IOptions<BackupRepositoriesOptions>>().Value);

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain(Key, error.Message);
    }

    [Fact]
    public void An_s3_repository_is_registered_and_describes_its_bucket_and_prefix_without_its_credentials()
    {
        const string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        var repositories = Build(new()
        {
            ["Backup:Repositories:s3-offsite:Kind"] = "S3",
            ["Backup:Repositories:s3-offsite:Container"] = "my-backups",
            ["Backup:Repositories:s3-offsite:Prefix"] = "prod/worker-1/",
            ["Backup:Repositories:s3-offsite:ServiceUrl"] = "http://127.0.0.1:1",
            ["Backup:Repositories:s3-offsite:ForcePathStyle"] = "true",
            ["Backup:Repositories:s3-offsite:AccessKeyId"] = "AKIAIOSFODNN7EXAMPLE",
            ["Backup:Repositories:s3-offsite:SecretAccessKey"] = secret,
            ["Backup:Repositories:s3-offsite:EncryptionKey"] = Key,
        }).GetRequiredService<IBackupRepositories>();

        Assert.True(repositories.TryGet("s3-offsite", out var repository));
        Assert.IsType<BackupWorker.Repositories.S3.S3Repository>(repository);
        Assert.Equal(new RepositoryDescription("s3-offsite", "S3", "my-backups/prod/worker-1", "zstd", 3, true), repository.Describe());
        Assert.DoesNotContain(secret, repository.Describe().ToString());
        Assert.DoesNotContain(Key, repository.Describe().ToString());
    }

    [Theory]
    [InlineData("Container", "My_Bucket", "not a valid S3 bucket name")]
    [InlineData("Container", "192.168.1.10", "not a valid S3 bucket name")]
    [InlineData("ServiceUrl", "ftp://127.0.0.1:9000", "ServiceUrl must be")]
    [InlineData("ServiceUrl", "http://user:pass@127.0.0.1:9000", "ServiceUrl must be")]
    [InlineData("Region", "Mars 1", "Region must be")]
    [InlineData("Prefix", "a/../b", "Prefix must be")]
    [InlineData("SecretAccessKey", null, "AccessKeyId and SecretAccessKey are given together")]
    [InlineData("Kind", "s4", "Kind must be 'AzureBlob' or 'S3'")]
    public void An_s3_repository_that_cannot_work_stops_the_start_and_says_why_without_the_secrets(string setting, string? value, string expected)
    {
        const string secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        var settings = new Dictionary<string, string?>
        {
            ["Backup:Repositories:offsite:Kind"] = "S3",
            ["Backup:Repositories:offsite:Container"] = "my-backups",
            ["Backup:Repositories:offsite:ServiceUrl"] = "http://127.0.0.1:9000",
            ["Backup:Repositories:offsite:AccessKeyId"] = "AKIAIOSFODNN7EXAMPLE",
            ["Backup:Repositories:offsite:SecretAccessKey"] = secret,
            ["Backup:Repositories:offsite:EncryptionKey"] = Key,
        };
        settings[$"Backup:Repositories:offsite:{setting}"] = value;

        var error = Assert.Throws<OptionsValidationException>(() => Build(settings).GetRequiredService<IOptions<BackupRepositoriesOptions>>().Value);

        Assert.Contains(expected, error.Message);
        Assert.DoesNotContain(secret, error.Message);
        Assert.DoesNotContain(Key, error.Message);
    }

    private static ServiceProvider Build(Dictionary<string, string?> settings)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        return new ServiceCollection().AddLogging().AddBackupRepositories(configuration).BuildServiceProvider();
    }
}
