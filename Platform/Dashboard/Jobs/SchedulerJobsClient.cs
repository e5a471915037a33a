using Grpc.Net.Client;
using Microsoft.Extensions.Options;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;

namespace Platform.Dashboard.Jobs;

/// <summary>The Jobs page's view of the scheduler: SchedulerAdmin.ListJobStatuses and Scheduler.DeleteJob.</summary>
public sealed class SchedulerJobsClient : IDisposable
{
    private readonly GrpcChannel? _channel;

    public SchedulerJobsClient(IOptions<DashboardOptions> options)
    {
        var address = options.Value.SchedulerAddress;
        if (!string.IsNullOrWhiteSpace(address)) _channel = GrpcChannel.ForAddress(address);
    }

    public bool Configured => _channel is not null;

    public async Task<IReadOnlyList<JobStatus>> ListAsync(CancellationToken ct)
    {
        if (_channel is null) return [];
        var client = new SchedulerAdmin.SchedulerAdminClient(_channel);
        var response = await client.ListJobStatusesAsync(new ListJobStatusesRequest(), deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
        return response.Jobs;
    }

    public async Task DeleteAsync(string @namespace, string appId, string name, CancellationToken ct)
    {
        if (_channel is null) throw new InvalidOperationException("No scheduler address configured (Dashboard__SchedulerAddress).");
        var client = new Scheduler.SchedulerClient(_channel);
        await client.DeleteJobAsync(new DeleteJobRequest
        {
            Name = name,
            Metadata = new JobMetadata { AppId = appId, Namespace = @namespace, Target = new JobTargetMetadata { Job = new TargetJob() } },
        }, deadline: DateTime.UtcNow.AddSeconds(10), cancellationToken: ct);
    }

    public void Dispose() => _channel?.Dispose();
}
