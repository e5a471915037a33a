using Grpc.Core;
using Platform.Jobs;
using Platform.Jobs.Models;
using Platform.Jobs.Models.Responses;

namespace BackupWorker.Tests;

/// <summary>
/// The worker's sidecar Jobs API in memory, answering as the sidecar does: AlreadyExists when a job of that name exists
/// and overwrite is false, a "job not found" error for a missing job. <see cref="DuringNextCall"/> runs inside the next
/// call, to make something happen while a request of the worker is in flight (e.g. a trigger arriving).
/// </summary>
internal sealed class InMemoryJobsClient : DaprJobsClient
{
    private readonly Dictionary<string, DaprJobDetails> _jobs = [];

    public Func<Task>? DuringNextCall { get; set; }

    public DaprJobDetails? this[string name] { get { lock (_jobs) return _jobs.GetValueOrDefault(name); } }

    public override async Task ScheduleJobAsync(string jobName, DaprJobSchedule schedule, ReadOnlyMemory<byte>? payload = null,
        DateTimeOffset? startingFrom = null, int? repeats = null, DateTimeOffset? ttl = null, bool overwrite = false,
        IJobFailurePolicyOptions? failurePolicyOptions = null, CancellationToken cancellationToken = default)
    {
        await InterveneAsync();
        lock (_jobs)
        {
            if (!overwrite && _jobs.ContainsKey(jobName))
                throw Error("schedule", StatusCode.AlreadyExists, $"job already exists: 'app||default||backupworker||{jobName}'");
            _jobs[jobName] = new DaprJobDetails(schedule)
            {
                Name = jobName, ScheduleExpression = schedule.ExpressionValue, RepeatCount = repeats, Payload = payload?.ToArray(), Overwrite = overwrite,
                FailurePolicy = Stored(failurePolicyOptions),
            };
        }
    }

    public override async Task<DaprJobDetails> GetJobAsync(string jobName, CancellationToken cancellationToken = default)
    {
        await InterveneAsync();
        lock (_jobs)
            return _jobs.GetValueOrDefault(jobName) ?? throw Error("get", StatusCode.Internal, $"failed to get job due to: rpc error: code = NotFound desc = job not found: {jobName}");
    }

    public override async Task DeleteJobAsync(string jobName, CancellationToken cancellationToken = default)
    {
        await InterveneAsync();
        lock (_jobs) _jobs.Remove(jobName);
    }

    public override async Task<IReadOnlyList<DaprJobDetails>> ListJobsAsync(CancellationToken cancellationToken = default)
    {
        await InterveneAsync();
        lock (_jobs) return [.. _jobs.Values];
    }

    /// <summary>The policy as the sidecar reports it back; none given is Dapr's default, as the scheduler stores it.</summary>
    private static IFailurePolicyResponse Stored(IJobFailurePolicyOptions? policy) => policy switch
    {
        JobFailurePolicyDropOptions => new ConfiguredDropFailurePolicy(),
        JobFailurePolicyConstantOptions c => new ConfiguredConstantFailurePolicy(c.MaxRetries is not null, (int?)c.MaxRetries, c.Interval),
        _ => new ConfiguredConstantFailurePolicy(true, 3, TimeSpan.FromSeconds(1)),
    };

    private async Task InterveneAsync()
    {
        var action = DuringNextCall;
        DuringNextCall = null;
        if (action is not null) await action();
    }

    private static DaprJobsException Error(string operation, StatusCode code, string detail) =>
        new($"The {operation} job request failed.", new RpcException(new Status(code, detail)));
}
