using Grpc.Core;
using Microsoft.Extensions.Options;
using Platform.SchedulerProtocol;
using RuntimeJob = Dapr.Client.Autogen.Grpc.v1.Job;
using Platform.Sidecar.Hosting;
using Platform.Sidecar.Scheduler;

namespace Platform.Sidecar.Api;

/// <summary>
/// The Jobs API logic shared by the gRPC and HTTP front ends: daprd's checks in daprd's order, the call to the
/// scheduler stamped with this sidecar's app id and namespace, and the scheduler's status wrapped as daprd wraps it.
/// Every failure is a <see cref="DaprError"/>.
/// </summary>
public sealed class JobsService(SchedulerConnection scheduler, IOptions<SidecarOptions> options, SidecarMetrics metrics)
{
    private readonly SidecarOptions _options = options.Value;
    private readonly DaprErrors _errors = new(options.Value.AppId, options.Value.Namespace);

    public DaprErrors Errors => _errors;

    private JobMetadata Metadata() => new()
    {
        AppId = _options.AppId,
        Namespace = _options.Namespace,
        Target = new JobTargetMetadata { Job = new TargetJob() },
    };

    public async Task ScheduleAsync(RuntimeJob? job, bool overwrite, CancellationToken ct)
    {
        if (job is null) throw _errors.JobEmpty();
        if (job.Name.Length == 0) throw _errors.NameEmpty();
        if (!job.HasSchedule && !job.HasDueTime) throw _errors.ScheduleEmpty();
        if (!scheduler.Enabled) throw _errors.ScheduleFailed(StatusCode.Internal, "scheduler clients are disabled");
        var request = new ScheduleJobRequest
        {
            Name = job.Name,
            Job = JobConversion.ToScheduler(job),
            Metadata = Metadata(),
            Overwrite = overwrite,
        };
        try
        {
            await scheduler.CallAsync(async (c, o) => await c.ScheduleJobAsync(request, o), ct);
            metrics.JobScheduled();
        }
        catch (RpcException ex)
        {
            throw _errors.ScheduleFailed(ex.StatusCode, DaprError.GoErrorString(ex));
        }
    }

    public async Task<RuntimeJob> GetAsync(string name, CancellationToken ct)
    {
        if (name.Length == 0) throw _errors.NameEmpty();
        if (!scheduler.Enabled) throw _errors.GetFailed("scheduler clients are disabled");
        try
        {
            var response = await scheduler.CallAsync(async (c, o) =>
                await c.GetJobAsync(new GetJobRequest { Name = name, Metadata = Metadata() }, o), ct);
            return JobConversion.ToRuntime(name, response.Job ?? new Job());
        }
        catch (RpcException ex)
        {
            throw _errors.GetFailed(DaprError.GoErrorString(ex));
        }
    }

    public async Task DeleteAsync(string name, CancellationToken ct)
    {
        if (name.Length == 0) throw _errors.NameEmpty();
        if (!scheduler.Enabled) throw _errors.DeleteFailed("scheduler clients are disabled");
        try
        {
            await scheduler.CallAsync(async (c, o) =>
                await c.DeleteJobAsync(new DeleteJobRequest { Name = name, Metadata = Metadata() }, o), ct);
        }
        catch (RpcException ex)
        {
            throw _errors.DeleteFailed(DaprError.GoErrorString(ex));
        }
    }

    public async Task<IReadOnlyList<RuntimeJob>> ListAsync(CancellationToken ct)
    {
        if (!scheduler.Enabled) throw _errors.ListFailed("scheduler clients are disabled");
        try
        {
            var response = await scheduler.CallAsync(async (c, o) =>
                await c.ListJobsAsync(new ListJobsRequest { Metadata = Metadata() }, o), ct);
            return [.. response.Jobs.Select(j => JobConversion.ToRuntime(j.Name, j.Job ?? new Job()))];
        }
        catch (RpcException ex)
        {
            throw _errors.ListFailed(DaprError.GoErrorString(ex));
        }
    }

    /// <summary>An absent or empty prefix deletes every job of this app id.</summary>
    public async Task DeleteByPrefixAsync(string? prefix, CancellationToken ct)
    {
        if (!scheduler.Enabled) throw _errors.DeleteFailed("scheduler clients are disabled");
        try
        {
            await scheduler.CallAsync(async (c, o) => await c.DeleteByNamePrefixAsync(
                new DeleteByNamePrefixRequest { NamePrefix = prefix ?? "", Metadata = Metadata() }, o), ct);
        }
        catch (RpcException ex)
        {
            throw _errors.DeleteFailed(DaprError.GoErrorString(ex));
        }
    }
}
