using Grpc.Core;

namespace Platform.Jobs;

/// <summary>
/// A Jobs API call failed. Plays the role of Dapr's <c>DaprException</c>: the message says which operation failed and
/// the <see cref="Exception.InnerException"/> is the <see cref="RpcException"/> with the runtime's own status and text,
/// which <see cref="StatusCode"/> and <see cref="Detail"/> expose directly so callers can map them (e.g. to HTTP).
/// </summary>
public sealed class DaprJobsException : Exception
{
    public DaprJobsException(string message, Exception? innerException = null) : base(message, innerException)
    {
        if (innerException is RpcException rpc)
        {
            StatusCode = rpc.StatusCode;
            Detail = rpc.Status.Detail;
        }
    }

    /// <summary>The gRPC status code the sidecar answered with, when it answered.</summary>
    public StatusCode? StatusCode { get; }

    /// <summary>The sidecar's message, e.g. <c>failed to schedule job due to: ... job failed validation: ...</c>.</summary>
    public string? Detail { get; }

    /// <summary>
    /// True when the job does not exist. Dapr reports a missing job on GetJob as Internal with the scheduler's
    /// NotFound text inside the message, so the text is what tells.
    /// </summary>
    public bool IsJobNotFound =>
        StatusCode == Grpc.Core.StatusCode.NotFound
        || (Detail?.Contains("job not found", StringComparison.OrdinalIgnoreCase) ?? false)
        || (Detail?.Contains("code = NotFound", StringComparison.Ordinal) ?? false);

    /// <summary>True when scheduling failed because a job of that name exists and overwrite was false.</summary>
    public bool IsAlreadyExists =>
        StatusCode == Grpc.Core.StatusCode.AlreadyExists
        || (Detail?.Contains("job already exists", StringComparison.OrdinalIgnoreCase) ?? false);
}
