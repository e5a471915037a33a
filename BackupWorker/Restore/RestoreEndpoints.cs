using BackupWorker.Backups;
using Microsoft.AspNetCore.Http.HttpResults;
using Shared;

namespace BackupWorker.Restore;

/// <summary>The worker's restore and drill routes, reached by BackupApi through Dapr service invocation.</summary>
public static class RestoreEndpoints
{
    public const int MaxListLimit = 1000;

    public static IEndpointRouteBuilder MapRestoreEndpoints(this IEndpointRouteBuilder app)
    {
        // 202 once the checks that can refuse it have passed: the restore runs on (bounded by Backup:RestoreTimeout)
        // while the caller polls GET /restores/{id}, so no HTTP timeout on the way can cut it short.
        app.MapPost("/restores", async Task<Results<Accepted<RestoreRecord>, ValidationProblem, ProblemHttpResult>> (RestoreRequest request, RestoreQueue queue) =>
        {
            try
            {
                var record = await queue.AcceptRestoreAsync(request);
                return TypedResults.Accepted($"/restores/{record.Id}", record);
            }
            catch (RestoreProblemException e) when (e.Errors is not null)
            {
                return TypedResults.ValidationProblem(e.Errors, e.Message, title: e.Title);
            }
            catch (RestoreProblemException e)
            {
                return Problem(e);
            }
        });

        app.MapGet("/restores", (int? limit, RestoreCatalog catalog) => TypedResults.Ok(catalog.ListRestores(Math.Clamp(limit ?? 100, 1, MaxListLimit))));

        app.MapGet("/restores/{id}", Results<Ok<RestoreRecord>, ProblemHttpResult> (string id, RestoreCatalog catalog) =>
            catalog.GetRestore(id) is { } record ? TypedResults.Ok(record) : TypedResults.Problem($"No restore with id '{id}'.", statusCode: 404, title: "Restore not found"));

        app.MapGet("/drills", (string? schedule, string? backupId, int? limit, RestoreCatalog catalog) =>
            TypedResults.Ok(catalog.ListDrills(schedule, backupId, Math.Clamp(limit ?? 100, 1, MaxListLimit))));

        app.MapGet("/drills/{id}", Results<Ok<DrillRecord>, ProblemHttpResult> (string id, RestoreCatalog catalog) =>
            catalog.GetDrill(id) is { } drill ? TypedResults.Ok(drill) : TypedResults.Problem($"No drill with id '{id}'.", statusCode: 404, title: "Drill not found"));

        app.MapGet("/backups/{id}", Results<Ok<BackupDetails>, ProblemHttpResult> (string id, BackupCatalog catalog, RestoreCatalog restores, RepositoryCopyCatalog copies) =>
        {
            var run = catalog.GetRun(id);
            if (run is null || run.Outcome != RunOutcome.Succeeded) return BackupNotFound(id);
            return TypedResults.Ok(new BackupDetails(copies.Attach(run), restores.GetManifest(id), restores.IsRestorable(id), restores.ListDrills(backupId: id, limit: 1).FirstOrDefault()));
        });

        // As a restore: 202 with the Running drill, polled at GET /drills/{id}. ?repository= drills that repository's
        // copy; without it, the nearest good copy (as a restore picks it).
        app.MapPost("/backups/{id}/drill", Results<Accepted<DrillRecord>, ValidationProblem, ProblemHttpResult> (string id, string? repository, BackupCatalog catalog, RestoreQueue queue, RestoreService service) =>
        {
            if (RestoreRequestRules.Check(null, null, null, null, null, repository) is { } errors && errors.TryGetValue("repository", out var repositoryError))
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["repository"] = repositoryError }, title: "Invalid drill request");
            var run = catalog.GetRun(id);
            if (run is null || run.Outcome != RunOutcome.Succeeded) return BackupNotFound(id);
            try
            {
                string source;
                try
                {
                    source = service.Sources.Choose(run, repository, throwIfNone: true)!;
                }
                catch (RestoreProblemException e) when (e.Status == 409)
                {
                    // A copy a drill found bad may be drilled again: a later good drill clears it.
                    source = repository ?? RepositoryListRules.Local;
                }
                var drill = queue.AcceptDrill(run, source);
                return TypedResults.Accepted($"/drills/{drill.Id}", drill);
            }
            catch (RestoreProblemException e)
            {
                return Problem(e);
            }
        });

        app.MapPut("/schedules/{name}/drill", Results<Ok<DrillPolicy>, ValidationProblem, ProblemHttpResult> (string name, DrillPolicyRequest request, BackupCatalog catalog, RestoreCatalog restores) =>
        {
            if (request.Every is < 1 or > 10_000)
                return TypedResults.ValidationProblem(new Dictionary<string, string[]> { ["every"] = ["every is 1-10000 (drill every Nth backup), or null to stop drills."] }, title: "Invalid drill policy");
            if (catalog.GetSchedule(name) is not { } schedule)
                return TypedResults.Problem($"No backup schedule named '{name}'.", statusCode: 404, title: "Schedule not found");
            restores.SetDrillPolicy(name, schedule.Instance, request.Every);
            return TypedResults.Ok(new DrillPolicy(name, request.Every));
        });

        app.MapGet("/schedules/{name}/drill", Results<Ok<DrillPolicy>, ProblemHttpResult> (string name, BackupCatalog catalog, RestoreCatalog restores) =>
            catalog.GetSchedule(name) is { } schedule
                ? TypedResults.Ok(new DrillPolicy(name, restores.GetDrillEvery(name, schedule.Instance)))
                : TypedResults.Problem($"No backup schedule named '{name}'.", statusCode: 404, title: "Schedule not found"));

        return app;
    }

    private static ProblemHttpResult BackupNotFound(string id) => TypedResults.Problem($"No backup with id '{id}'.", statusCode: 404, title: "Backup not found");

    private static ProblemHttpResult Problem(RestoreProblemException e) =>
        TypedResults.Problem(e.Message, statusCode: e.Status, title: e.Title,
            extensions: e.Record is null ? null : new Dictionary<string, object?> { ["restore"] = e.Record });
}
