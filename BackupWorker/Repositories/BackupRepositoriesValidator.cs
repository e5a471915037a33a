using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;

namespace BackupWorker.Repositories;

/// <summary>
/// Refuses, at start, a repository configuration that could not work: better a worker that does not start than
/// backups that silently stay on the local disk only. Messages name settings, never their secret values.
/// </summary>
internal sealed partial class BackupRepositoriesValidator : IValidateOptions<BackupRepositoriesOptions>
{
    public ValidateOptionsResult Validate(string? name, BackupRepositoriesOptions options)
    {
        var failures = new List<string>();
        foreach (var (repoName, repo) in options.Repositories)
        {
            var section = $"Backup:Repositories:{repoName}";
            if (string.Equals(repoName, BackupRepositoriesOptions.LocalName, StringComparison.OrdinalIgnoreCase))
                failures.Add($"{section}: the name '{BackupRepositoriesOptions.LocalName}' is the local backup root's and cannot name an object-storage repository.");
            else if (!RepositoryName().IsMatch(repoName))
                failures.Add($"{section}: a repository name is 1 to 32 lower-case letters, digits or '-', starting with a letter.");
            var s3 = string.Equals(repo.Kind, RepositoryKinds.S3, StringComparison.OrdinalIgnoreCase);
            if (!s3 && !string.Equals(repo.Kind, RepositoryKinds.AzureBlob, StringComparison.OrdinalIgnoreCase))
                failures.Add($"{section}:Kind must be '{RepositoryKinds.AzureBlob}' or '{RepositoryKinds.S3}'.");
            if (s3)
                failures.AddRange(S3.S3OptionsRules.Check(section, repo));
            else if (string.IsNullOrWhiteSpace(repo.ConnectionString))
                failures.Add($"{section}: ConnectionStrings:{repoName} is missing.");
            else if (!IsConnectionString(repo.ConnectionString))
                failures.Add($"{section}: ConnectionStrings:{repoName} is not an Azure Storage connection string.");
            // Azure's container rule: 3-63 lower-case letters, digits and single hyphens, starting with a letter or digit.
            if (!s3 && (!ContainerName().IsMatch(repo.Container) || repo.Container.Contains("--", StringComparison.Ordinal)))
                failures.Add($"{section}:Container '{repo.Container}' is not a valid container name (3-63 lower-case letters, digits, single '-').");
            if (!RepositoryCompression.IsKnown(repo.Compression))
                failures.Add($"{section}:Compression must be '{RepositoryCompression.None}', '{RepositoryCompression.Zstd}' or '{RepositoryCompression.Lz4}'.");
            if (repo.Compression == RepositoryCompression.Zstd && repo.CompressionLevel is < 1 or > 22)
                failures.Add($"{section}:CompressionLevel must be 1 to 22 for zstd.");
            if (repo.EncryptionKey is { } key && !IsKey(key))
                failures.Add($"{section}:EncryptionKey must be the base64 of 32 bytes.");
            if (repo.ChunkSize is < 4096 or > 16 * 1024 * 1024)
                failures.Add($"{section}:ChunkSize must be 4096 to 16777216 bytes.");
            if (repo.RequestTimeout <= TimeSpan.Zero)
                failures.Add($"{section}:RequestTimeout must be positive.");
            if (repo.RetryDelay <= TimeSpan.Zero)
                failures.Add($"{section}:RetryDelay must be positive.");
            if (repo.MaxRetries is < 0 or > 10)
                failures.Add($"{section}:MaxRetries must be 0 to 10.");
        }
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Parses without connecting; the SDK's own parser, so what passes here is what the repository accepts.</summary>
    private static bool IsConnectionString(string connectionString)
    {
        try
        {
            _ = new global::Azure.Storage.Blobs.BlobServiceClient(connectionString);
            return true;
        }
        catch (Exception e) when (e is FormatException or ArgumentException or InvalidOperationException)
        {
            return false;
        }
    }

    internal static bool IsKey(string key)
    {
        Span<byte> bytes = stackalloc byte[48];
        return Convert.TryFromBase64String(key.Trim(), bytes, out var written) && written == 32;
    }

    [GeneratedRegex("^[a-z][a-z0-9-]{0,31}$")]
    private static partial Regex RepositoryName();

    [GeneratedRegex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$")]
    private static partial Regex ContainerName();
}
