using System.Net;
using System.Net.Sockets;
using Amazon.Runtime;
using Amazon.S3;

namespace BackupWorker.Repositories.S3;

/// <summary>
/// Translates what the AWS SDK throws into the repository exceptions. Messages name the repository, what failed and
/// the setting to check, never a credential (the SDK's own exception stays inside, for the operator's traces).
/// </summary>
internal static class S3Errors
{
    /// <summary>The S3 error codes of a refused identity: a key that does not exist, a wrong secret, a denied policy.</summary>
    private static readonly HashSet<string> CredentialCodes = new(StringComparer.Ordinal)
    {
        "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "ExpiredToken", "InvalidToken", "InvalidSecurity",
    };

    /// <returns>The exception to throw instead, or null to let <paramref name="error"/> pass (cancellation by the caller, our own exceptions).</returns>
    public static Exception? Map(Exception error, string repository, string doing, CancellationToken ct)
    {
        switch (error)
        {
            case RepositoryUnavailableException or RepositoryContentException or RepositoryKeyException:
                return null;
            case OperationCanceledException when ct.IsCancellationRequested:
                return null;
            case AmazonS3Exception failed when failed.StatusCode is HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden
                                             || CredentialCodes.Contains(failed.ErrorCode ?? ""):
                return new RepositoryUnavailableException(
                    $"Repository '{repository}' refused our credentials while {doing} ({(int)failed.StatusCode} {failed.ErrorCode}): check Backup:Repositories:{repository}:AccessKeyId and SecretAccessKey.", error);
            case AmazonS3Exception { ErrorCode: "NoSuchBucket" }:
                // A configuration problem, not damage: the copies may be intact in the bucket meant.
                return MissingBucket(repository, doing, error);
            case AmazonS3Exception failed when failed.StatusCode == HttpStatusCode.NotFound || failed.ErrorCode is "NoSuchKey":
                return new RepositoryContentException($"Repository '{repository}': the object is missing ({doing}).", error);
            case AmazonServiceException { StatusCode: not 0 } failed:
                return new RepositoryUnavailableException(
                    $"Repository '{repository}' failed while {doing}: {(int)failed.StatusCode} {failed.ErrorCode}".TrimEnd() + ".", error);
            case OperationCanceledException:
                return new RepositoryUnavailableException($"Repository '{repository}' timed out while {doing}.", error);
            case AmazonClientException or HttpRequestException or IOException or SocketException or AmazonServiceException:
                return new RepositoryUnavailableException($"Repository '{repository}' is unreachable while {doing}: {Root(error)}.", error);
            default:
                return null;
        }
    }

    public static RepositoryUnavailableException MissingBucket(string repository, string doing, Exception? error = null) =>
        new($"Repository '{repository}': its bucket does not exist ({doing}): check Backup:Repositories:{repository}:Container.", error);

    /// <summary>The innermost message: a socket's "Connection refused (host:port)", not the SDK's wrapper.</summary>
    private static string Root(Exception error)
    {
        while (error.InnerException is { } inner) error = inner;
        return error.Message;
    }
}
