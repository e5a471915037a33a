using BackupWorker.Backups;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BackupWorker.Schedules;

/// <summary>
/// The worker's internal API, reached by BackupApi through Dapr service invocation
/// (<c>/v1.0/invoke/backupworker/method/schedules/...</c> on BackupApi's sidecar).
/// </summary>
public static class WorkerEndpoints
{
    public static IEndpointRouteBuilder MapWorkerEndpoints(this IEndpointRouteBuilder app)
    {
        var schedules = app.MapGroup("/schedules");

        schedules.MapPost("/", async Task<Results<Created<ScheduleView>, ValidationProblem, ProblemHttpResult>> (CreateScheduleRequest request, ScheduleService service, CancellationToken ct) =>
        {
            try
            {
                var view = await service.CreateAsync(request, ct);
                return TypedResults.Created($"/schedules/{Uri.EscapeDataString(view.Name)}", view);
            }
            catch (ScheduleProblemException e) when (e.Errors is not null)
            {
                return TypedResults.ValidationProblem(e.Errors, e.Message, title: e.Title);
            }
            catch (ScheduleProblemException e)
            {
                return Problem(e);
            }
        });

        schedules.MapGet("/", async Task<Results<Ok<IReadOnlyList<ScheduleView>>, ProblemHttpResult>> (ScheduleService service, CancellationToken ct) =>
        {
            try { return TypedResults.Ok(await service.ListAsync(ct)); }
            catch (ScheduleProblemException e) { return Problem(e); }
        });

        schedules.MapGet("/{name}", async Task<Results<Ok<ScheduleView>, ProblemHttpResult>> (string name, ScheduleService service, RepositoryCopyCatalog copies, CancellationToken ct) =>
        {
            try
            {
                return await service.GetAsync(name, includeRuns: true, ct) is { } view
                    ? TypedResults.Ok(view with { Runs = view.Runs is null ? null : copies.Attach(view.Runs) })
                    : NotFound(name);
            }
            catch (ScheduleProblemException e) { return Problem(e); }
        });

        schedules.MapDelete("/{name}", async Task<Results<NoContent, ProblemHttpResult>> (string name, ScheduleService service, CancellationToken ct) =>
        {
            try
            {
                return await service.DeleteAsync(name, ct) ? TypedResults.NoContent() : NotFound(name);
            }
            catch (ScheduleProblemException e) { return Problem(e); }
        });

        schedules.MapPost("/{name}/run", async Task<Results<Ok<BackupRun>, ProblemHttpResult>> (string name, ScheduleService service, CancellationToken ct) =>
        {
            try
            {
                var run = await service.RunNowAsync(name, ct);
                if (run is null) return NotFound(name);
                return run.Outcome == RunOutcome.Succeeded
                    ? TypedResults.Ok(run)
                    : TypedResults.Problem(run.Error, statusCode: 500, title: "Backup failed", extensions: new Dictionary<string, object?> { ["run"] = run });
            }
            catch (ScheduleProblemException e) { return Problem(e); }
        });

        // Each run and backup with where it is, per repository (copied, verified, pending with its next attempt, failed).
        app.MapGet("/runs", (string? schedule, string? database, int? limit, BackupCatalog catalog, RepositoryCopyCatalog copies) =>
            TypedResults.Ok(copies.Attach(catalog.ListRuns(schedule, database, Math.Clamp(limit ?? 200, 1, 10_000)))));

        app.MapGet("/backups", (string? schedule, string? database, BackupCatalog catalog, RepositoryCopyCatalog copies) =>
            TypedResults.Ok(copies.Attach(catalog.ListBackups(schedule, database))));

        return app;
    }

    private static ProblemHttpResult NotFound(string name) =>
        TypedResults.Problem($"No backup schedule named '{name}'.", statusCode: 404, title: "Schedule not found");

    private static ProblemHttpResult Problem(ScheduleProblemException e) => TypedResults.Problem(e.Message, statusCode: e.Status, title: e.Title);
}
