using System.Security.Claims;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;
using Shared;

namespace BackupApi;

/// <summary>Restore and drill routes: checked here, then run by BackupWorker through Dapr service invocation.</summary>
public static partial class RestoreEndpoints
{
    /// <summary>A restore or drill-policy request is a few hundred bytes of JSON; anything much larger is refused unread.</summary>
    public const long MaxRequestBytes = 16 * 1024;

    public const int MaxListLimit = 1000;

    /// <summary>Longest operator label (<c>requestedBy</c>); it is recorded after the caller's name.</summary>
    public const int MaxLabelLength = 80;

    public static void MapRestoreApi(this RouteGroupBuilder api)
    {
        var restores = api.MapGroup("/restores").WithTags("Restores");

        restores.MapPost("/", async Task<Results<Accepted<RestoreRecord>, ValidationProblem, ProblemHttpResult>> (RestoreRequest request, ClaimsPrincipal user, WorkerClient worker, CancellationToken ct) =>
        {
            var errors = RestoreRequestRules.Check(request.BackupId, request.Schedule, request.Database, request.Target, null, request.Repository);
            if (request.RequestedBy is { } label && (label.Length is 0 or > MaxLabelLength || label.Any(char.IsControl)))
                errors["requestedBy"] = [$"requestedBy is an optional label of 1-{MaxLabelLength} characters without control characters."];
            if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid restore request");
            // Who asked is the authenticated caller; the label only adds to it.
            var caller = user.Identity?.Name ?? "unknown";
            var result = await worker.RestoreAsync(request with { RequestedBy = request.RequestedBy is { } l ? $"{caller} ({l})" : caller }, ct);
            // The worker answers once the restore is accepted; it runs on there, bounded by its own time limit.
            if (result.IsSuccess) return TypedResults.Accepted($"/restores/{result.Value!.Id}", result.Value);
            return result.Errors is { } workerErrors ? TypedResults.ValidationProblem(workerErrors, result.Problem!.Detail, title: result.Problem.Title) : RequestProblems.FromWorker(result);
        })
        .WithMetadata(new RequestSizeLimitAttribute(MaxRequestBytes))
        .WithName("Restore")
        .WithSummary("Restore a backup (by id, or the newest restorable of a schedule or database) into a new file or database, or over an existing one with replace")
        .WithDescription("202 Accepted once the request has passed every check that can refuse it: the body is the restore's record with outcome Running " +
            "and the Location header is /restores/{id}; poll GET /restores/{id} until the outcome is Succeeded or Failed (with the error, e.g. a checksum " +
            "mismatch or an unrestorable dump). The restore runs on the worker, bounded by its Backup:RestoreTimeout, whatever happens to this request. " +
            "SQLite: into a new file under the worker's restore root, or over the configured database with replace: true after a safety copy; " +
            "atomic (temp file, fsync, rename) and checked (the backup's SHA-256 before use, PRAGMA integrity_check on the result). " +
            "PostgreSQL: pg_restore into a new database renamed into place; a replaced database is kept as <name>__before_<id>. " +
            "Refused at once, touching nothing: 400 invalid request or target outside the restore root; 404 unknown backup or missing target database without create; " +
            "409 target exists without replace, a restore into it is running, a backup of the database is running, or a drill found the backup's content bad; " +
            "422 PostgreSQL refused the plan; 429 too many restores at once; 503 PostgreSQL tools or server unavailable, or the worker is stopping; " +
            "504 no answer from the worker within BackupApi:WorkerTimeout (the restore may have started: check GET /restores before asking again).")
        .Produces<RestoreRecord>(StatusCodes.Status202Accepted)
        .ProducesValidationProblem()
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status409Conflict)
        .ProducesProblem(StatusCodes.Status422UnprocessableEntity)
        .ProducesProblem(StatusCodes.Status429TooManyRequests)
        .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
        .ProducesProblem(StatusCodes.Status504GatewayTimeout);

        restores.MapGet("/", async Task<Results<Ok<List<RestoreRecord>>, ValidationProblem, ProblemHttpResult>> (int? limit, WorkerClient worker, CancellationToken ct) =>
        {
            if (limit is < 1 or > MaxListLimit) return LimitProblem();
            var result = await worker.RestoresAsync(limit, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithName("ListRestores").WithSummary("Every restore (who asked, which backup, target, start, end, outcome, error), newest first");

        restores.MapGet("/{id}", async Task<Results<Ok<RestoreRecord>, ValidationProblem, ProblemHttpResult>> (string id, WorkerClient worker, CancellationToken ct) =>
        {
            if (!Id().IsMatch(id)) return IdProblem("id");
            var result = await worker.GetRestoreAsync(id, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithName("GetRestore").WithSummary("One restore: poll it after a 202 until its outcome is no longer Running");

        api.MapGet("/drills", async Task<Results<Ok<List<DrillRecord>>, ValidationProblem, ProblemHttpResult>> (string? schedule, string? backupId, int? limit, WorkerClient worker, CancellationToken ct) =>
        {
            if (limit is < 1 or > MaxListLimit) return LimitProblem();
            if (backupId is not null && !Id().IsMatch(backupId)) return IdProblem("backupId");
            var result = await worker.DrillsAsync(schedule, backupId, limit, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithTags("Drills").WithName("ListDrills").WithSummary("Restore drills and their outcomes (newest first), optionally of one schedule or backup");

        api.MapGet("/drills/{id}", async Task<Results<Ok<DrillRecord>, ValidationProblem, ProblemHttpResult>> (string id, WorkerClient worker, CancellationToken ct) =>
        {
            if (!Id().IsMatch(id)) return IdProblem("id");
            var result = await worker.GetDrillAsync(id, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithTags("Drills").WithName("GetDrill").WithSummary("One drill: poll it after a 202 until its outcome is no longer Running");

        api.MapGet("/backups/{id}", async Task<Results<Ok<BackupDetails>, ValidationProblem, ProblemHttpResult>> (string id, WorkerClient worker, CancellationToken ct) =>
        {
            if (!Id().IsMatch(id)) return IdProblem("id");
            var result = await worker.GetBackupAsync(id, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithTags("Backups").WithName("GetBackup").WithSummary("A backup, what it recorded (tables, row counts, schema hash), whether it is restorable, its last drill");

        api.MapPost("/backups/{id}/drill", async Task<Results<Accepted<DrillRecord>, ValidationProblem, ProblemHttpResult>> (string id, string? repository, WorkerClient worker, CancellationToken ct) =>
        {
            if (!Id().IsMatch(id)) return IdProblem("id");
            if (RestoreRequestRules.Check(null, null, null, null, null, repository).TryGetValue("repository", out var repositoryError))
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["repository"] = repositoryError }, title: "Invalid drill request");
            var result = await worker.DrillAsync(id, repository, ct);
            return result.IsSuccess ? TypedResults.Accepted($"/drills/{result.Value!.Id}", result.Value) : RequestProblems.FromWorker(result);
        })
        .WithTags("Drills").WithName("DrillBackup")
        .WithSummary("Restore a backup into scratch now and compare it with what it recorded")
        .WithDescription("202 Accepted with the drill's record (outcome Running) and Location /drills/{id}; poll GET /drills/{id} until the outcome is " +
            "Succeeded, Failed (a content failure: checksum, integrity, unreadable dump or the restored copy differs; the backup is marked not restorable until a later drill succeeds) or Inconclusive (the drill could not run: server down, disk full, out of time, stopped; proves nothing, changes nothing, retried later). " +
            "?repository= drills that repository's copy (each copy has its own verdict); without it, the nearest good copy. " +
            "404 unknown backup or no copy there; 429 too many drills at once.")
        .Produces<DrillRecord>(StatusCodes.Status202Accepted)
        .ProducesProblem(StatusCodes.Status404NotFound)
        .ProducesProblem(StatusCodes.Status429TooManyRequests);

        api.MapPut("/schedules/{name}/drill", async Task<Results<Ok<DrillPolicy>, ValidationProblem, ProblemHttpResult>> (string name, DrillPolicyRequest request, WorkerClient worker, CancellationToken ct) =>
        {
            if (request.Every is < 1 or > 10_000)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["every"] = ["every is 1-10000 (drill every Nth backup), or null to stop drills."] }, title: "Invalid drill policy");
            var result = await worker.SetDrillPolicyAsync(name, request, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithMetadata(new RequestSizeLimitAttribute(MaxRequestBytes))
        .WithTags("Drills").WithName("SetDrillPolicy").WithSummary("Drill every Nth successful backup of the schedule (null stops drills)");

        api.MapGet("/schedules/{name}/drill", async Task<Results<Ok<DrillPolicy>, ProblemHttpResult>> (string name, WorkerClient worker, CancellationToken ct) =>
        {
            var result = await worker.GetDrillPolicyAsync(name, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithTags("Drills").WithName("GetDrillPolicy").WithSummary("The schedule's drill policy");
    }

    private static ValidationProblem LimitProblem() =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["limit"] = [$"limit is 1-{MaxListLimit}."] }, title: "Invalid query");

    private static ValidationProblem IdProblem(string field) =>
        TypedResults.ValidationProblem(new Dictionary<string, string[]> { [field] = ["An id is 32 lower-case hex digits."] }, title: "Invalid id");


    [GeneratedRegex("^[0-9a-f]{32}$")]
    private static partial Regex Id();
}
