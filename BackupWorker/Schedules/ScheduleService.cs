using Shared;
using System.Globalization;
using System.Text.RegularExpressions;
using BackupWorker.Backups;
using BackupWorker.Hosting;
using Microsoft.Extensions.Options;
using Platform.Jobs;
using Platform.Jobs.Models;
using Platform.Jobs.Models.Responses;

namespace BackupWorker.Schedules;

/// <summary>
/// Backup schedules = jobs this worker schedules on its own sidecar (so their triggers come back here) plus a catalog
/// row holding what the job cannot (retention, the request as given).
/// </summary>
public sealed partial class ScheduleService(DaprJobsClient jobsClient, BackupCatalog catalog, BackupRunner runner, TimeProvider time, ILogger<ScheduleService> logger,
    IOptions<BackupOptions>? options = null)
{
    private readonly BackupOptions _options = options?.Value ?? new BackupOptions();

    public async Task<ScheduleView> CreateAsync(CreateScheduleRequest request, CancellationToken cancellationToken)
    {
        var errors = new Dictionary<string, string[]>();
        var database = request.Database?.Trim();
        if (string.IsNullOrEmpty(database)) errors["database"] = ["A database name is required."];
        else if (!runner.IsKnownDatabase(database))
            errors["database"] = [$"Unknown database '{database}'; configured: {string.Join(", ", runner.KnownDatabases.Order())}."];
        var name = string.IsNullOrWhiteSpace(request.Name) ? $"{database}-backup" : request.Name.Trim();
        if (!JobName().IsMatch(name)) errors["name"] = ["A name is 1-100 letters, digits, '-', '_' or '.', starting with a letter or digit."];
        var location = request.Location ?? database ?? ""; // <backup root>/<database>
        if ((BackupLocationRules.Check(location) ?? runner.CheckLocation(location)) is { } locationError) errors["location"] = [locationError];
        if (string.IsNullOrWhiteSpace(request.Schedule) && string.IsNullOrWhiteSpace(request.DueTime))
            errors["schedule"] = ["A schedule (cron, @every, @daily, ...) or a dueTime is required."];
        var now = time.GetUtcNow();
        DateTimeOffset? dueTime = null, ttl = null;
        if (!string.IsNullOrWhiteSpace(request.DueTime))
        {
            if (Durations.TryParseInstant(request.DueTime, now, out var d)) dueTime = d;
            else errors["dueTime"] = ["Not an RFC 3339 time or a duration (10s, 1h30m, PT10M)."];
        }
        if (!string.IsNullOrWhiteSpace(request.Ttl))
        {
            if (Durations.TryParseInstant(request.Ttl, dueTime ?? now, out var t)) ttl = t;
            else errors["ttl"] = ["Not an RFC 3339 time or a duration (10s, 1h30m, PT10M)."];
        }
        if (request.Repeats < 0) errors["repeats"] = ["repeats cannot be negative."];
        var retention = ParseRetention(request.Retention, errors);
        if (RepositoryListRules.Check(request.Repositories) is { } repositoriesError) errors["repositories"] = [repositoriesError];
        else if (request.Repositories?.FirstOrDefault(r => !runner.IsKnownRepository(r!)) is { } unknown)
            errors["repositories"] = [$"Unknown repository '{unknown}'; configured: {string.Join(", ", runner.KnownRepositories)}."];
        if (errors.Count > 0) throw new ScheduleProblemException(400, "Invalid backup schedule", "One or more fields are invalid.", errors);

        var schedule = string.IsNullOrWhiteSpace(request.Schedule)
            ? DaprJobSchedule.FromDateTime(dueTime!.Value)
            : DaprJobSchedule.FromExpression(request.Schedule.Trim());
        var startingFrom = string.IsNullOrWhiteSpace(request.Schedule) ? null : dueTime;
        var payload = BackupPayload.ForDatabase(database!, location);

        // Without overwrite a job of that name refuses the request. Find that out before touching the catalog: in the
        // window below, a trigger of the existing job would apply the refused request's retention to its backups.
        if (!request.Overwrite && await TryGetJobAsync(name, cancellationToken) is not null)
            throw new ScheduleProblemException(409, "Schedule already exists", $"job already exists: '{name}'; send overwrite: true to replace it.");

        // The catalog row goes first so the first trigger already sees the retention rule; it is removed again if the
        // sidecar refuses the job (unless a job of that name exists and keeps its own row). Every create, overwrite or
        // not, is a new schedule instance: retention never reaches the backups an earlier schedule of this name made.
        var previous = catalog.GetSchedule(name);
        var record = catalog.UpsertSchedule(new ScheduleRecord(name, database!, location, request.Schedule?.Trim(), request.Repeats,
            request.DueTime?.Trim(), request.Ttl?.Trim(), retention, now) { Repositories = RepositoryListRules.Normalize(request.Repositories) });
        try
        {
            var oneShot = (startingFrom is null && schedule.IsPointInTimeExpression) || request.Repeats == 1;
            await jobsClient.ScheduleJobAsync(name, schedule, payload.ToUtf8Json(), startingFrom, request.Repeats, ttl, request.Overwrite,
                FailurePolicyFor(_options, oneShot), cancellationToken);
        }
        catch (DaprJobsException e)
        {
            if (previous is not null) catalog.UpsertSchedule(previous);
            else catalog.MarkScheduleDeleted(name, now);
            throw ToProblem(e);
        }
        catalog.ConfirmJob(name, record.Instance!);
        logger.Scheduled(name, database!, location, schedule.ExpressionValue);
        return await GetAsync(name, includeRuns: false, cancellationToken) ?? ToView(record, null, active: true);
    }

    /// <summary>
    /// The failure policy a backup job is scheduled with, as Dapr's JobFailurePolicy: constant retries every
    /// <see cref="BackupOptions.TriggerRetryInterval"/> for the configured window, so a tick outlasts a restart of the
    /// worker or its sidecar; longer for a job with a single tick, which has no later tick to cover for it. A zero
    /// window is Dapr's drop.
    /// </summary>
    internal static IJobFailurePolicyOptions FailurePolicyFor(BackupOptions options, bool oneShot)
    {
        var window = oneShot ? options.OneShotTriggerRetryFor : options.TriggerRetryFor;
        if (window <= TimeSpan.Zero) return new JobFailurePolicyDropOptions();
        var retries = Math.Ceiling((double)window.Ticks / Math.Max(1, options.TriggerRetryInterval.Ticks));
        return new JobFailurePolicyConstantOptions(options.TriggerRetryInterval) { MaxRetries = (uint)Math.Min(retries, uint.MaxValue) };
    }

    /// <summary>Why a schedule ends when its job is found missing.</summary>
    internal const string JobGoneReason = "Its job no longer exists on the sidecar (deleted outside BackupApi, or its repeats or TTL are done).";

    public async Task<IReadOnlyList<ScheduleView>> ListAsync(CancellationToken cancellationToken)
    {
        // The rows are read before the jobs: a row confirmed by then had its job accepted before the listing, so a job
        // missing from the listing is gone, not about to be scheduled.
        var records = catalog.ListSchedulesForView();
        IReadOnlyList<DaprJobDetails>? jobs;
        try
        {
            jobs = await jobsClient.ListJobsAsync(cancellationToken);
        }
        catch (DaprJobsException e) when (e.StatusCode == Grpc.Core.StatusCode.Unimplemented)
        {
            jobs = null; // A sidecar without ListJobs: ask for each job instead.
        }
        catch (DaprJobsException e)
        {
            throw ToProblem(e);
        }

        var views = new List<ScheduleView>();
        if (jobs is not null)
        {
            var byName = jobs.Where(j => j.Name is not null).ToDictionary(j => j.Name!);
            foreach (var record in records)
                if (ViewOf(record, byName.GetValueOrDefault(record.Name)) is { } view) views.Add(view);
            // Jobs of this app that were scheduled some other way but carry a backup payload are backup schedules too.
            foreach (var job in jobs.Where(j => j.Name is not null && records.All(r => r.Name != j.Name)))
                if (ToExternalView(job) is { } view) views.Add(view);
        }
        else
        {
            foreach (var record in records)
                if (ViewOf(record, await TryGetJobAsync(record.Name, cancellationToken)) is { } view) views.Add(view);
        }
        return views.OrderBy(v => v.Name, StringComparer.Ordinal).ToList();
    }

    public async Task<ScheduleView?> GetAsync(string name, bool includeRuns, CancellationToken cancellationToken)
    {
        var record = catalog.GetScheduleForView(name);
        var job = await TryGetJobAsync(name, cancellationToken);
        var view = record is not null ? ViewOf(record, job) : job is not null ? ToExternalView(job) : null;
        if (view is null) return null;
        return includeRuns ? view with { Runs = catalog.ListRuns(schedule: name) } : view;
    }

    /// <summary>
    /// A catalog row seen beside the job of its name (null: none): live, or ended (shown so while no job uses the name;
    /// once one made elsewhere does, that job is what the name means).
    /// </summary>
    private ScheduleView? ViewOf(ScheduleRecord record, DaprJobDetails? job)
    {
        record = EndIfGone(record, job is not null);
        if (record.EndedAt is null) return ToView(record, job, job is not null);
        return job is null ? ToView(record, null, active: false) : ToExternalView(job);
    }

    /// <summary>
    /// A live, confirmed schedule whose job is missing has ended: recorded so, so that its rules stop applying and a
    /// later schedule of the same name inherits nothing.
    /// </summary>
    private ScheduleRecord EndIfGone(ScheduleRecord record, bool jobExists)
    {
        if (jobExists || record.EndedAt is not null || !record.JobConfirmed || record.Instance is null) return record;
        var now = time.GetUtcNow();
        if (!catalog.MarkScheduleEnded(record.Name, record.Instance, now, JobGoneReason)) return record;
        LogEnded(logger, record.Name, record.Instance);
        return record with { EndedAt = now, EndedReason = JobGoneReason };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {Name} (instance {Instance}) has ended: its job no longer exists; its backups stay, its retention no longer applies")]
    private static partial void LogEnded(ILogger logger, string name, string instance);

    /// <summary>Deletes the job (no more triggers) and marks the schedule deleted; its runs and backups stay. False when unknown.</summary>
    public async Task<bool> DeleteAsync(string name, CancellationToken cancellationToken)
    {
        var known = catalog.GetScheduleForView(name) is not null || await TryGetJobAsync(name, cancellationToken) is not null;
        if (!known) return false;
        try
        {
            await jobsClient.DeleteJobAsync(name, cancellationToken);
        }
        catch (DaprJobsException e)
        {
            throw ToProblem(e);
        }
        catalog.MarkScheduleDeleted(name, time.GetUtcNow());
        logger.Deleted(name);
        return true;
    }

    /// <summary>Runs the schedule's backup now, outside its timetable. Null when the schedule is unknown.</summary>
    public async Task<BackupRun?> RunNowAsync(string name, CancellationToken cancellationToken)
    {
        BackupMetadata? target = catalog.GetSchedule(name) is { } record ? new BackupMetadata(record.Database, record.Location) : null;
        if (target is null && await TryGetJobAsync(name, cancellationToken) is { Payload: { } bytes }
            && BackupPayload.TryParse(bytes, out var payload, out _))
            target = payload!.Metadata;
        if (target is null) return null;
        try
        {
            return await runner.RunAsync(name, target, "manual", cancellationToken);
        }
        catch (ScheduleBusyException e)
        {
            throw new ScheduleProblemException(409, "Backup already running", e.Message);
        }
    }

    private async Task<DaprJobDetails?> TryGetJobAsync(string name, CancellationToken cancellationToken)
    {
        try
        {
            return await jobsClient.GetJobAsync(name, cancellationToken);
        }
        catch (DaprJobsException e) when (e.IsJobNotFound)
        {
            return null;
        }
        catch (DaprJobsException e)
        {
            throw ToProblem(e);
        }
    }

    /// <summary>Maps a sidecar error onto HTTP, keeping Dapr's own message as the detail.</summary>
    public static ScheduleProblemException ToProblem(DaprJobsException e)
    {
        var detail = e.Detail ?? e.InnerException?.Message ?? e.Message;
        if (e.IsAlreadyExists) return new ScheduleProblemException(409, "Schedule already exists", detail);
        return e.StatusCode switch
        {
            Grpc.Core.StatusCode.InvalidArgument => new ScheduleProblemException(400, "Rejected by the jobs API", detail),
            // Dapr reports the scheduler's validation failures (bad cron, repeats 0, ttl before due time...) as Internal.
            Grpc.Core.StatusCode.Internal when detail.Contains("failed validation", StringComparison.Ordinal)
                || detail.Contains("job name is invalid", StringComparison.Ordinal) => new ScheduleProblemException(400, "Rejected by the jobs API", detail),
            Grpc.Core.StatusCode.Unavailable or Grpc.Core.StatusCode.DeadlineExceeded or null => new ScheduleProblemException(503, "Sidecar unavailable", detail),
            Grpc.Core.StatusCode.Unauthenticated or Grpc.Core.StatusCode.PermissionDenied => new ScheduleProblemException(502, "Sidecar refused the worker's credentials", detail),
            _ => new ScheduleProblemException(502, "Jobs API error", detail),
        };
    }

    private static RetentionRule ParseRetention(RetentionRequest? request, Dictionary<string, string[]> errors)
    {
        if (request is null) return new RetentionRule(null, null);
        if (request.KeepLast is < 1) errors["retention.keepLast"] = ["keepLast must be at least 1."];
        if (request.MinimumRedundancy is < 1 or > RetentionRequest.MaxMinimumRedundancy)
            errors["retention.minimumRedundancy"] = [$"minimumRedundancy is 1-{RetentionRequest.MaxMinimumRedundancy} (restorable backups retention always keeps)."];
        TimeSpan? maxAge = null;
        if (!string.IsNullOrWhiteSpace(request.MaxAge))
        {
            if (Durations.TryParseDuration(request.MaxAge, out var age) && age > TimeSpan.Zero) maxAge = age;
            else errors["retention.maxAge"] = ["maxAge must be a positive duration (168h, P7D, 7.00:00:00)."];
        }
        return new RetentionRule(request.KeepLast, maxAge, request.MinimumRedundancy ?? RetentionRule.DefaultMinimumRedundancy);
    }

    private static ScheduleView ToView(ScheduleRecord r, DaprJobDetails? job, bool active) => new(
        r.Name, r.Database, r.Location, r.Schedule, r.Repeats, r.DueTime, r.Ttl,
        new RetentionView(r.Retention.KeepLast, r.Retention.MaxAge?.ToString("c", CultureInfo.InvariantCulture), r.Retention.MinimumRedundancy),
        r.CreatedAt, active, ToJobView(job)) { Instance = r.Instance, EndedAt = r.EndedAt, EndedReason = r.EndedReason, Repositories = r.Repositories };

    private static ScheduleView? ToExternalView(DaprJobDetails job)
    {
        if (job.Payload is null || !BackupPayload.TryParse(job.Payload, out var payload, out _)) return null;
        return new ScheduleView(job.Name!, payload!.Metadata.DBName, payload.Metadata.BackupLocation, job.ScheduleExpression, job.RepeatCount,
            job.DueTimeExpression, job.TtlExpression, new RetentionView(null, null, null), null, true, ToJobView(job));
    }

    private static JobView? ToJobView(DaprJobDetails? job) => job is null ? null : new JobView(
        job.ScheduleExpression, job.DueTimeExpression, job.TtlExpression, job.RepeatCount,
        job.FailurePolicy switch
        {
            ConfiguredDropFailurePolicy => "drop",
            ConfiguredConstantFailurePolicy c => $"constant every {c.Duration.TotalSeconds:0.###}s, " + (c.HasMaxRetries ? $"at most {c.MaxRetries} retries" : "retries without limit"),
            _ => null,
        });

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")]
    private static partial Regex JobName();
}
