using System.Net.Sockets;
using Azure;

namespace BackupWorker.Repositories.AzureBlob;

/// <summary>
/// Translates what the Azure SDK throws into the repository exceptions. Messages name the repository and what
/// failed, never the connection string (the SDK's own message stays in the inner exception, with secrets redacted).
/// </summary>
internal static class AzureErrors
{
    /// <returns>The exception to throw instead, or null to let <paramref name="error"/> pass (cancellation by the caller, our own exceptions).</returns>
    public static Exception? Map(Exception error, string repository, string doing, CancellationToken ct)
    {
        switch (error)
        {
            case RepositoryUnavailableException or RepositoryContentException or RepositoryKeyException:
                return null;
            case OperationCanceledException when ct.IsCancellationRequested:
                return null;
            case RequestFailedException { Status: 401 or 403 } failed:
                return new RepositoryUnavailableException(
                    $"Repository '{repository}' refused our credentials while {doing} ({failed.Status} {failed.ErrorCode}): check ConnectionStrings:{repository}.", error);
            case RequestFailedException { Status: 404 } failed when failed.ErrorCode is "BlobNotFound":
                return new RepositoryContentException($"Repository '{repository}': the object is missing ({doing}).", error);
            case RequestFailedException failed:
                return new RepositoryUnavailableException(
                    $"Repository '{repository}' failed while {doing}: {Describe(failed)}.", error);
            case OperationCanceledException:
                return new RepositoryUnavailableException($"Repository '{repository}' timed out while {doing}.", error);
            case AggregateException aggregate:
                return new RepositoryUnavailableException(
                    $"Repository '{repository}' is unreachable while {doing} (after {aggregate.InnerExceptions.Count} attempts): {Root(aggregate.InnerExceptions[^1])}.", error);
            case HttpRequestException or IOException or SocketException:
                return new RepositoryUnavailableException($"Repository '{repository}' is unreachable while {doing}: {Root(error)}.", error);
            default:
                return null;
        }
    }

    private static string Describe(RequestFailedException failed) =>
        failed.Status == 0 ? Root(failed) : $"{failed.Status} {failed.ErrorCode}".TrimEnd();

    /// <summary>The innermost message: a socket's "Connection refused (host:port)", not the SDK's page of request details.</summary>
    private static string Root(Exception error)
    {
        while (error.InnerException is { } inner) error = inner;
        return error.Message;
    }
}
