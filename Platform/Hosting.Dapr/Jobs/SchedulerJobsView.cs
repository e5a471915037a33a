using System.Collections.Immutable;
using System.Globalization;
using Aspire.Hosting.ApplicationModel;
using Grpc.Core;
using Grpc.Net.Client;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Platform.SchedulerProtocol;
using Platform.SchedulerProtocol.Admin;
using Platform.Security;

namespace Platform.Hosting.Dapr;

/// <summary>
/// Keeps the dashboard's view of the scheduler's jobs current: once the scheduler is healthy it reads every job's
/// status (schedule, repeats left, triggers so far, last result, next due) each <see cref="PollInterval"/> and publishes
/// each job as a <see cref="DaprJobResource"/> nested under the scheduler, with a Delete command. A job the scheduler no
/// longer holds (deleted, or done with its repeats) is hidden.
/// </summary>
internal sealed partial class SchedulerJobsView(
    DaprSchedulerResource scheduler,
    WorkloadIdentity? identity,
    ResourceNotificationService notifications,
    ILogger<SchedulerJobsView> logger) : BackgroundService
{
    internal static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    private readonly Dictionary<string, Shown> _shown = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await notifications.WaitForResourceHealthyAsync(scheduler.Name, stoppingToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        // As the AppHost's own identity, the only one the scheduler serves its admin API, over mTLS when the run has it.
        using var channel = identity is null ? GrpcChannel.ForAddress(scheduler.GrpcEndpoint.Url)
            : GrpcChannel.ForAddress(new UriBuilder(scheduler.GrpcEndpoint.Url) { Scheme = Uri.UriSchemeHttps }.Uri, new GrpcChannelOptions
            {
                HttpHandler = identity.CreateHandler(id => id == SpiffeId.Scheduler()),
            });
        var admin = new SchedulerAdmin.SchedulerAdminClient(channel);
        var jobs = new Scheduler.SchedulerClient(channel);
        using var timer = new PeriodicTimer(PollInterval);
        do
        {
            try
            {
                var response = await admin.ListJobStatusesAsync(new ListJobStatusesRequest(), cancellationToken: stoppingToken).ConfigureAwait(false);
                await PublishAsync(response.Jobs, jobs).ConfigureAwait(false);
            }
            catch (RpcException ex) when (!stoppingToken.IsCancellationRequested)
            {
                // The scheduler restarts or is stopped from the dashboard: keep what is shown until it answers again.
                LogUnreachable(logger, scheduler.Name, ex.StatusCode);
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // A view must never stop the AppHost (a failed BackgroundService stops the host): log, try next tick.
                LogViewFailed(logger, ex, scheduler.Name);
            }
            catch (Exception) when (stoppingToken.IsCancellationRequested)
            {
                return; // the AppHost is stopping: the call was cancelled with it
            }
        }
        while (await NextTickAsync(timer, stoppingToken).ConfigureAwait(false));
    }

    private static async Task<bool> NextTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try { return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { return false; }
    }

    private async Task PublishAsync(IEnumerable<JobStatus> statuses, Scheduler.SchedulerClient jobs)
    {
        var seen = new HashSet<string>();
        foreach (var status in statuses)
        {
            var id = DaprJobResource.IdFor(status.Metadata.Namespace, status.Metadata.AppId, status.Name);
            seen.Add(id);
            var properties = Properties(status);
            if (_shown.TryGetValue(id, out var shown) && !shown.Hidden && shown.Properties.SequenceEqual(properties)) continue;
            // One resource per job id for the whole run: Aspire refuses a second instance under an id it has seen, so a
            // job deleted and created again under its name comes back as the same resource.
            var job = shown?.Job ?? WithDeleteCommand(new DaprJobResource(status.Name, status.Metadata.AppId, status.Metadata.Namespace), jobs);
            _shown[id] = new Shown(job, properties, Hidden: false);
            await notifications.PublishUpdateAsync(job, id, s => s with
            {
                ResourceType = DaprJobResource.ResourceTypeName,
                State = status.Staged ? new ResourceStateSnapshot("Held", KnownResourceStateStyles.Warn)
                    : status.Attempts > 0 ? new ResourceStateSnapshot("Retrying", KnownResourceStateStyles.Warn)
                    : new ResourceStateSnapshot("Scheduled", KnownResourceStateStyles.Success),
                Properties = [new(ParentNameProperty, ParentId()), new(SourceProperty, Summary(status)), .. properties],
                IconName = "CalendarLtr",
                IsHidden = false,
            }).ConfigureAwait(false);
        }

        foreach (var (id, gone) in _shown.Where(s => !seen.Contains(s.Key) && !s.Value.Hidden).ToList())
        {
            _shown[id] = gone with { Hidden = true };
            await notifications.PublishUpdateAsync(gone.Job, id, s => s with
            {
                State = new ResourceStateSnapshot("Deleted", KnownResourceStateStyles.Info),
                IsHidden = true,
            }).ConfigureAwait(false);
        }
    }

    private string ParentId()
        => notifications.TryGetCurrentState(scheduler.Name, out var e) ? e.ResourceId : scheduler.Name;

    private DaprJobResource WithDeleteCommand(DaprJobResource job, Scheduler.SchedulerClient jobs)
    {
        job.Annotations.Add(new ResourceCommandAnnotation(
            DaprJobResource.DeleteCommandName,
            "Delete",
            context => context.ResourceSnapshot.IsHidden ? ResourceCommandState.Disabled : ResourceCommandState.Enabled,
            async context =>
            {
                try
                {
                    await jobs.DeleteJobAsync(new DeleteJobRequest
                    {
                        Name = job.Name,
                        Metadata = new JobMetadata { AppId = job.AppId, Namespace = job.Namespace, Target = new JobTargetMetadata { Job = new TargetJob() } },
                    }, cancellationToken: context.CancellationToken).ConfigureAwait(false);
                    LogDeleted(logger, job.Name, job.AppId);
                    return CommandResults.Success();
                }
                catch (RpcException ex)
                {
                    return CommandResults.Failure(ex.Status.Detail);
                }
            },
            displayDescription: "Delete this job from the scheduler: no further triggers.",
            parameter: null,
            confirmationMessage: $"Delete job '{job.Name}' of app '{job.AppId}'? Its remaining triggers will not fire.",
            iconName: "Delete",
            iconVariant: IconVariant.Regular,
            isHighlighted: false));
        return job;
    }

    internal const string ParentNameProperty = "resource.parentName";

    /// <summary>Shown in the resources grid's Source column, so the schedule and what comes next need no click.</summary>
    internal const string SourceProperty = "resource.source";

    internal static string Summary(JobStatus s)
    {
        var what = s.Job.HasSchedule ? s.Job.Schedule : s.Job.HasDueTime ? $"once at {s.Job.DueTime}" : "(no schedule)";
        var next = s.NextDue is null ? "nothing due" : $"next {s.NextDue.ToDateTimeOffset():yyyy-MM-dd HH:mm:ss}Z";
        var fired = s.Job.HasRepeats ? $"{s.Count} of {s.Job.Repeats} fired" : $"{s.Count} fired";
        return $"{what} · {fired} · {next}";
    }

    /// <summary>What the scheduler knows of a job, as the dashboard shows it (times in UTC, ISO 8601).</summary>
    internal static ImmutableArray<ResourcePropertySnapshot> Properties(JobStatus s) =>
    [
        new("App id", s.Metadata.AppId),
        new("Namespace", s.Metadata.Namespace),
        new("Schedule", s.Job.HasSchedule ? s.Job.Schedule : "(none)"),
        new("Due time", s.Job.HasDueTime ? s.Job.DueTime : "(none)"),
        new("TTL", s.Job.HasTtl ? s.Job.Ttl : "(none)"),
        new("Repeats", s.Job.HasRepeats ? s.Job.Repeats.ToString(CultureInfo.InvariantCulture) : "unlimited"),
        new("Repeats left", s.HasRepeatsLeft ? s.RepeatsLeft.ToString(CultureInfo.InvariantCulture) : "unlimited"),
        new("Triggers so far", s.Count.ToString(CultureInfo.InvariantCulture)),
        new("Last trigger", s.LastTrigger is null ? "(never)" : s.LastTrigger.ToDateTimeOffset().ToString("O", CultureInfo.InvariantCulture)),
        new("Last result", string.IsNullOrEmpty(s.LastResult) ? "(none)" : s.LastResult),
        new("Next due", s.NextDue is null ? "(none)" : s.NextDue.ToDateTimeOffset().ToString("O", CultureInfo.InvariantCulture)),
        new("Attempts", s.Attempts.ToString(CultureInfo.InvariantCulture)),
        new(HeldProperty, s.Staged ? "yes: due, and no sidecar of the app is connected to take it" : "no"),
    ];

    internal const string HeldProperty = "Trigger held";

    private sealed record Shown(DaprJobResource Job, ImmutableArray<ResourcePropertySnapshot> Properties, bool Hidden);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Scheduler {Scheduler} did not answer the jobs view ({Status}); retrying")]
    private static partial void LogUnreachable(ILogger logger, string scheduler, StatusCode status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The jobs view of scheduler {Scheduler} failed to update; retrying")]
    private static partial void LogViewFailed(ILogger logger, Exception exception, string scheduler);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted job {Job} of app {AppId} from the dashboard")]
    private static partial void LogDeleted(ILogger logger, string job, string appId);
}
