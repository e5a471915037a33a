using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Scheduler.Engine;
using Platform.Scheduler.Schedules;
using Platform.Scheduler.Storage;
using Platform.SchedulerProtocol.Admin;

namespace Platform.Scheduler.Services;

/// <summary><c>platform.scheduler.v1.SchedulerAdmin</c>: the operator's view (progress, next due) for the dashboard.</summary>
public sealed class SchedulerAdminService(SchedulerEngine engine, IJobStore store) : SchedulerAdmin.SchedulerAdminBase
{
    public override async Task<ListJobStatusesResponse> ListJobStatuses(ListJobStatusesRequest request, ServerCallContext context)
    {
        var jobs = await store.ListAllAsync(request.Namespace, request.AppId, context.CancellationToken);
        var response = new ListJobStatusesResponse();
        foreach (var job in jobs)
        {
            var progress = job.Progress;
            DateTimeOffset? nextDue = null;
            string? quarantine = null;
            if (engine.TryGetLiveStatus(job.Key, out var live, out var liveNext, out var liveQuarantine))
            {
                progress = live;
                nextDue = liveNext;
                quarantine = liveQuarantine;
            }
            // A record this replica does not fire is still checked as read: the admin view shows it set aside too.
            quarantine ??= job.LoadError;
            var status = new JobStatus
            {
                Name = job.Key.Name,
                Metadata = ProtocolMapping.Metadata(job.Key.Namespace, job.Key.AppId),
                Job = ProtocolMapping.ToProtocol(job),
                Count = progress.Count,
                Attempts = progress.Attempts,
                Staged = engine.IsStaged(job.Key),
                // A job the engine set aside says so, with the reason, where the dashboard shows the last result.
                LastResult = quarantine is not null ? "quarantined: " + quarantine : progress.LastResult switch
                {
                    JobResultKind.Success => "success",
                    JobResultKind.Failed => "failed",
                    _ => "",
                },
                Quarantine = quarantine ?? "",
            };
            if (progress.LastTrigger != TickCalculator.None)
                status.LastTrigger = Timestamp.FromDateTimeOffset(new DateTimeOffset(progress.LastTrigger, TimeSpan.Zero));
            if (nextDue is { } n) status.NextDue = Timestamp.FromDateTimeOffset(n);
            if (job.Repeats is { } r) status.RepeatsLeft = r > progress.Count ? r - progress.Count : 0;
            response.Jobs.Add(status);
        }
        return response;
    }
}
