using System.Net;
using System.Text.RegularExpressions;

namespace BackupWorker.Repositories.S3;

/// <summary>
/// What an S3 repository's settings must be, checked at start without connecting. Messages name the setting, never a
/// credential's value.
/// </summary>
internal static partial class S3OptionsRules
{
    public static IEnumerable<string> Check(string section, BackupRepositoryOptions repo)
    {
        // S3's bucket rule: 3-63 lower-case letters, digits, '.' and '-', a letter or digit at each end, no "..", not an IP address.
        if (!BucketName().IsMatch(repo.Container) || repo.Container.Contains("..", StringComparison.Ordinal) || IPAddress.TryParse(repo.Container, out _))
            yield return $"{section}:Container '{repo.Container}' is not a valid S3 bucket name (3-63 lower-case letters, digits, '.', '-').";
        if (repo.ServiceUrl is { Length: > 0 } url
            && (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.UserInfo.Length > 0 || uri.Query.Length > 0))
            yield return $"{section}:ServiceUrl must be an absolute http or https URL without credentials or query.";
        if (!RegionName().IsMatch(repo.Region ?? ""))
            yield return $"{section}:Region must be a region name such as 'us-east-1' (lower-case letters, digits, '-').";
        if (repo.Prefix.Trim('/') is { Length: > 0 } prefix && !IsValidPrefix(prefix))
            yield return $"{section}:Prefix must be a key path of letters, digits, '-', '_', '.' and '/' without empty, '.' or '..' segments.";
        if (string.IsNullOrWhiteSpace(repo.AccessKeyId) != string.IsNullOrWhiteSpace(repo.SecretAccessKey))
            yield return $"{section}: AccessKeyId and SecretAccessKey are given together, or neither (the SDK's credential chain).";
    }

    private static bool IsValidPrefix(string prefix)
    {
        try
        {
            ObjectKeyRules.Validate(prefix);
            return prefix.Length <= 256;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    [GeneratedRegex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")]
    private static partial Regex BucketName();

    // AWS's names (us-east-1) and what S3-compatible services take ("auto", "garage").
    [GeneratedRegex("^[a-z0-9][a-z0-9-]{0,31}$")]
    private static partial Regex RegionName();
}
