using BackupWorker.Backups;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BackupWorker.Restore;

/// <summary>The worker's restore and drill routes, reached by BackupApi through Dapr service invocation.</summary>
public static class RestoreEndpoints
{
    public const int MaxListLimit = 1000;

    public static IEndpointRouteBuilder MapRestoreEndpoints(this IEndpointRouteBuilder app)
    {
        app.MapPost("/restores", async Task<Results<Created<RestoreRecord>, ValidationProblem, ProblemHttpResult>> (RestoreRequest request, RestoreService service, CancellationToken ct) =>
        {
            try
            {
                var record = await service.RestoreAsync(request, ct);
                return TypedResults.Created($"/restores/{record.Id}", record);
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

        app.MapGet("/backups/{id}", Results<Ok<BackupDetails>, ProblemHttpResult> (string id, BackupCatalog catalog, RestoreCatalog restores) =>
        {
            var run = catalog.GetRun(id);
            if (run is null || run.Outcome != RunOutcome.Succeeded) return BackupNotFound(id);
            return TypedResults.Ok(new BackupDetails(run, restores.GetManifest(id), restores.IsRestorable(id), restores.ListDrills(backupId: id, limit: 1).FirstOrDefault()));
        });

        app.MapPost("/backups/{id}/drill", async Task<Results<Ok<DrillRecord>, ProblemHttpResult>> (string id, BackupCatalog catalog, DrillService drills, CancellationToken ct) =>
        {
            var run = catalog.GetRun(id);
            if (run is null || run.Outcome != RunOutcome.Succeeded || run.PrunedAt is not null) return BackupNotFound(id);
            var drill = await drills.DrillAsync(run, "manual", ct);
            return drill.Outcome == DrillOutcome.Succeeded
                ? TypedResults.Ok(drill)
                : TypedResults.Problem(drill.Error, statusCode: drill.Outcome == DrillOutcome.Inconclusive ? 503 : 422,
                    title: drill.Outcome == DrillOutcome.Inconclusive ? "Drill inconclusive" : "Drill failed", extensions: new Dictionary<string, object?> { ["drill"] = drill });
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
