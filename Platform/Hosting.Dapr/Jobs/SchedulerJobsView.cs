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
/// Keeps the dashboard's view of the scheduler's jobs current: once a scheduler process is healthy it reads every job's
/// status (schedule, repeats left, triggers so far, last result, next due) each <see cref="PollInterval"/> and publishes
/// each job as a <see cref="DaprJobResource"/> nested under the scheduler, with a Delete command. Each job is also added to
/// the application model when first found: the Aspire CLI (<c>aspire describe</c>, <c>resource</c>, <c>wait</c>) knows only
/// the model's resources. A job the scheduler no longer holds (deleted, or done with its repeats) is hidden and
/// <c>Finished</c>, so <c>aspire wait &lt;job&gt; --status down</c> returns then. With replicas every replica is asked: all read the same
/// store, but a job's live progress (its next due, whether a trigger is held) is known only to the replica that runs
/// it, so each job is shown once, as its freshest answer has it; one replica down leaves the view to the others.
/// </summary>
internal sealed partial class SchedulerJobsView(
    IDaprSchedulerResource scheduler,
    WorkloadIdentity? identity,
    ResourceNotificationService notifications,
    DistributedApplicationModel model,
    ILogger<SchedulerJobsView> logger) : BackgroundService
{
    internal static readonly TimeSpan PollInterval = TimeSpan.FromSeconds(1);

    /// <summary>A replica that does not answer within this is left out of the tick, so one hung replica cannot stall the view.</summary>
    internal static readonly TimeSpan CallTimeout = TimeSpan.FromSeconds(3);

    private readonly Dictionary<string, Shown> _shown = [];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!await AnyReplicaHealthyAsync(stoppingToken).ConfigureAwait(false)) return;

        // As the AppHost's own identity, the only one the scheduler serves its admin API, over mTLS when the run has it.
        var replicas = scheduler.Replicas.Select(r => new Replica(r, Channel(r))).ToList();
        try
        {
            using var timer = new PeriodicTimer(PollInterval);
            do
            {
                try
                {
                    var answers = await Task.WhenAll(replicas.Select(r => ListAsync(r, stoppingToken))).ConfigureAwait(false);
                    // No replica answered (restarting, or stopped from the dashboard): keep what is shown until one does.
                    if (answers.Any(a => a is not null)) await PublishAsync(Freshest(answers.OfType<IReadOnlyList<JobStatus>>()), replicas).ConfigureAwait(false);
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
        finally
        {
            foreach (var replica in replicas) replica.Channel.Dispose();
        }
    }

    private GrpcChannel Channel(DaprSchedulerResource replica) => identity is null ? GrpcChannel.ForAddress(replica.GrpcEndpoint.Url)
        : GrpcChannel.ForAddress(new UriBuilder(replica.GrpcEndpoint.Url) { Scheme = Uri.UriSchemeHttps }.Uri, new GrpcChannelOptions
        {
            HttpHandler = identity.CreateHandler(id => id == SpiffeId.Scheduler()),
        });

    /// <summary>Waits until one replica is healthy (then every endpoint is allocated); false when the AppHost stops first.</summary>
    private async Task<bool> AnyReplicaHealthyAsync(CancellationToken stoppingToken)
    {
        using var first = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var waits = scheduler.Replicas.Select(r => notifications.WaitForResourceHealthyAsync(r.Name, first.Token)).ToList();
        try
        {
            await Task.WhenAny(waits).ConfigureAwait(false);
        }
        finally
        {
            await first.CancelAsync().ConfigureAwait(false);
        }
        try { await Task.WhenAll(waits).ConfigureAwait(false); }
        catch (OperationCanceledException) { } // the others, cancelled once one was healthy
        return !stoppingToken.IsCancellationRequested && waits.Any(w => w.IsCompletedSuccessfully);
    }

    /// <summary>The replica's answer, or null when it did not give one this tick.</summary>
    private async Task<IReadOnlyList<JobStatus>?> ListAsync(Replica replica, CancellationToken stoppingToken)
    {
        try
        {
            var response = await replica.Admin.ListJobStatusesAsync(new ListJobStatusesRequest(), deadline: DateTime.UtcNow.Add(CallTimeout),
                cancellationToken: stoppingToken).ConfigureAwait(false);
            return response.Jobs;
        }
        catch (RpcException ex) when (!stoppingToken.IsCancellationRequested)
        {
            LogUnreachable(logger, replica.Resource.Name, ex.StatusCode);
            return null;
        }
    }

    private static async Task<bool> NextTickAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try { return await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false); }
        catch (OperationCanceledException) { return false; }
    }

    private static string IdOf(JobStatus status) => DaprJobResource.IdFor(status.Metadata.Namespace, status.Metadata.AppId, status.Name);

    /// <summary>
    /// Each job once, from the freshest of the replicas' answers: the most triggers, then the latest trigger, then the
    /// live answer (the running replica's, which alone has a next due time) over one read from the store.
    /// </summary>
    internal static IEnumerable<JobStatus> Freshest(IEnumerable<IReadOnlyList<JobStatus>> answers)
        => answers.SelectMany(a => a).GroupBy(IdOf)
            .Select(job => job.OrderByDescending(s => s.Count)
                .ThenByDescending(s => s.LastTrigger?.ToDateTimeOffset())
                .ThenByDescending(s => s.NextDue is not null)
                .First());

    private async Task PublishAsync(IEnumerable<JobStatus> statuses, IReadOnlyList<Replica> replicas)
    {
        var seen = new HashSet<string>();
        foreach (var status in statuses)
        {
            var id = IdOf(status);
            seen.Add(id);
            var properties = Properties(status);
            if (_shown.TryGetValue(id, out var shown) && !shown.Hidden && shown.Properties.SequenceEqual(properties)) continue;
            // One resource per job id for the whole run: Aspire refuses a second instance under an id it has seen, so a
            // job deleted and created again under its name comes back as the same resource.
            var job = shown?.Job ?? AddToModel(status, replicas);
            _shown[id] = new Shown(job, properties, Hidden: false);
            await notifications.PublishUpdateAsync(job, job.Name, s => s with
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
            await notifications.PublishUpdateAsync(gone.Job, gone.Job.Name, s => s with
            {
                // A terminal state: what `aspire wait <job> --status down` waits for.
                State = new ResourceStateSnapshot(KnownResourceStates.Finished, KnownResourceStateStyles.Info),
                IsHidden = true,
            }).ConfigureAwait(false);
        }
    }

    private string ParentId()
        => notifications.TryGetCurrentState(scheduler.Name, out var e) ? e.ResourceId : scheduler.Name;

    /// <summary>
    /// The job as a resource of the model, named by its job name unless the model already has that name (an app's, or a
    /// same-named job of another app or namespace): then by its full key. The model's resource list is not meant to
    /// change while the application runs and takes no lock: a job is added once, from this one loop, and never removed,
    /// and a CLI call that walks the model at that very instant fails once (run it again).
    /// </summary>
    private DaprJobResource AddToModel(JobStatus status, IReadOnlyList<Replica> replicas)
    {
        var name = model.Resources.Any(r => string.Equals(r.Name, status.Name, StringComparison.OrdinalIgnoreCase))
            ? IdOf(status)
            : status.Name;
        var job = new DaprJobResource(name, status.Name, status.Metadata.AppId, status.Metadata.Namespace);
        DaprJobCommands.Add(job, cancellationToken => DeleteAsync(job, replicas, cancellationToken));
        model.Resources.Add(job);
        return job;
    }

    private async Task<ExecuteCommandResult> DeleteAsync(DaprJobResource job, IReadOnlyList<Replica> replicas, CancellationToken cancellationToken)
    {
        // Any replica deletes from the shared store: the first that answers.
        RpcException? failure = null;
        foreach (var replica in replicas)
        {
            try
            {
                await replica.Jobs.DeleteJobAsync(new DeleteJobRequest
                {
                    Name = job.JobName,
                    Metadata = new JobMetadata { AppId = job.AppId, Namespace = job.Namespace, Target = new JobTargetMetadata { Job = new TargetJob() } },
                }, deadline: DateTime.UtcNow.Add(CallTimeout), cancellationToken: cancellationToken).ConfigureAwait(false);
                LogDeleted(logger, job.JobName, job.AppId);
                return CommandResults.Success();
            }
            catch (RpcException ex) when (ex.StatusCode is StatusCode.Unavailable or StatusCode.DeadlineExceeded)
            {
                failure = ex;
            }
            catch (RpcException ex)
            {
                return CommandResults.Failure(ex.Status.Detail);
            }
        }
        return CommandResults.Failure(failure?.Status.Detail ?? "no scheduler replica answered");
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

    private sealed record Replica(DaprSchedulerResource Resource, GrpcChannel Channel)
    {
        public SchedulerAdmin.SchedulerAdminClient Admin { get; } = new(Channel);

        public Scheduler.SchedulerClient Jobs { get; } = new(Channel);
    }

    private sealed record Shown(DaprJobResource Job, ImmutableArray<ResourcePropertySnapshot> Properties, bool Hidden);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Scheduler {Scheduler} did not answer the jobs view ({Status}); retrying")]
    private static partial void LogUnreachable(ILogger logger, string scheduler, StatusCode status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The jobs view of scheduler {Scheduler} failed to update; retrying")]
    private static partial void LogViewFailed(ILogger logger, Exception exception, string scheduler);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deleted job {Job} of app {AppId} by a resource command")]
    private static partial void LogDeleted(ILogger logger, string job, string appId);
}
