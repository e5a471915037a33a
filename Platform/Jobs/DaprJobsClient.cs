using Platform.Jobs.Models;
using Platform.Jobs.Models.Responses;

namespace Platform.Jobs;

/// <summary>
/// Schedules, reads and deletes jobs through the Dapr sidecar's Jobs API (gRPC). Same shape as Dapr's
/// <c>Dapr.Jobs.DaprJobsClient</c>, plus <see cref="ListJobsAsync"/>, which Dapr's .NET client lacks.
/// Create one through <c>AddDaprJobsClient</c> or <see cref="DaprJobsClientBuilder"/>.
/// </summary>
public abstract class DaprJobsClient : IDisposable
{
    private bool _disposed;

    /// <summary>
    /// Schedules a job on the sidecar this client talks to; its triggers come back to this app on <c>POST /job/{jobName}</c>.
    /// </summary>
    /// <param name="jobName">The job name, unique per app id and namespace.</param>
    /// <param name="schedule">When the job runs: a cron/period expression (sent as <c>schedule</c>) or a point in time (sent as <c>due_time</c>).</param>
    /// <param name="payload">Bytes handed unchanged to the job handler.</param>
    /// <param name="startingFrom">First trigger time (<c>due_time</c>); overrides a point-in-time schedule.</param>
    /// <param name="repeats">Maximum number of triggers; negative is rejected here, zero is sent and rejected by the runtime.</param>
    /// <param name="ttl">When the job expires; must not be before <paramref name="startingFrom"/>.</param>
    /// <param name="overwrite">Replace an existing job of the same name instead of failing with AlreadyExists.</param>
    /// <param name="failurePolicyOptions">What the scheduler does when a trigger fails (runtime default: constant, 1 s, 3 retries).</param>
    /// <param name="cancellationToken">Cancels the call; cancellation is reported as <see cref="OperationCanceledException"/>.</param>
    /// <exception cref="DaprJobsException">The sidecar rejected the request or could not be reached; the runtime's status and message are kept.</exception>
    public abstract Task ScheduleJobAsync(string jobName, DaprJobSchedule schedule,
        ReadOnlyMemory<byte>? payload = null, DateTimeOffset? startingFrom = null, int? repeats = null,
        DateTimeOffset? ttl = null, bool overwrite = false, IJobFailurePolicyOptions? failurePolicyOptions = null,
        CancellationToken cancellationToken = default);

    /// <summary>Reads a job as the runtime stores it.</summary>
    /// <exception cref="DaprJobsException">Including when the job does not exist (<see cref="DaprJobsException.IsJobNotFound"/>).</exception>
    public abstract Task<DaprJobDetails> GetJobAsync(string jobName, CancellationToken cancellationToken = default);

    /// <summary>Deletes a job; deleting a job that does not exist succeeds, as in Dapr.</summary>
    public abstract Task DeleteJobAsync(string jobName, CancellationToken cancellationToken = default);

    /// <summary>
    /// Lists every job of this app id (ours: Dapr's .NET client has no list). Each entry carries its <see cref="DaprJobDetails.Name"/>.
    /// </summary>
    public abstract Task<IReadOnlyList<DaprJobDetails>> ListJobsAsync(CancellationToken cancellationToken = default);

    public void Dispose()
    {
        if (_disposed) return;
        _disposed = true;
        Dispose(disposing: true);
        GC.SuppressFinalize(this);
    }

    protected virtual void Dispose(bool disposing)
    {
    }
}
