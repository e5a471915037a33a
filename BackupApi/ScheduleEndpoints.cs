using Microsoft.AspNetCore.Http.HttpResults;

namespace BackupApi;

/// <summary>Schedule routes: checked here (<see cref="ScheduleValidator"/>), then run by BackupWorker through Dapr service invocation.</summary>
public static class ScheduleEndpoints
{
    public static void MapScheduleApi(this RouteGroupBuilder api, BackupApiOptions options)
    {
        var schedules = api.MapGroup("/schedules").WithTags("Schedules");

        schedules.MapPost("/", async Task<Results<Created<ScheduleView>, ValidationProblem, ProblemHttpResult>> (CreateScheduleRequest request, WorkerClient worker, TimeProvider time, CancellationToken ct) =>
        {
            var errors = ScheduleValidator.Validate(request, time.GetUtcNow(), options.MaxMissedBackups);
            if (errors.Count > 0) return TypedResults.ValidationProblem(errors, title: "Invalid backup schedule");
            var result = await worker.CreateAsync(request, ct);
            if (!result.IsSuccess) return Fail(result);
            return TypedResults.Created($"/schedules/{Uri.EscapeDataString(result.Value!.Name)}", result.Value);
        })
        .WithName("CreateSchedule").WithSummary("Create a backup schedule (a Dapr job owned by BackupWorker)");

        schedules.MapGet("/", async Task<Results<Ok<List<ScheduleView>>, ProblemHttpResult>> (WorkerClient worker, CancellationToken ct) =>
        {
            var result = await worker.ListAsync(ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithName("ListSchedules").WithSummary("List backup schedules");

        schedules.MapGet("/{name}", async Task<Results<Ok<ScheduleView>, ProblemHttpResult>> (string name, WorkerClient worker, CancellationToken ct) =>
        {
            if (RequestProblems.CheckRouteName(name) is { } bad) return bad;
            var result = await worker.GetAsync(name, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithName("GetSchedule").WithSummary("A schedule, its job as the scheduler holds it, and its runs so far");

        schedules.MapDelete("/{name}", async Task<Results<NoContent, ProblemHttpResult>> (string name, WorkerClient worker, CancellationToken ct) =>
        {
            if (RequestProblems.CheckRouteName(name) is { } bad) return bad;
            var result = await worker.DeleteAsync(name, ct);
            return result.IsSuccess ? TypedResults.NoContent() : RequestProblems.FromWorker(result);
        })
        .WithName("DeleteSchedule").WithSummary("Delete a schedule: its job stops; its backups and run history stay");

        schedules.MapPost("/{name}/run", async Task<Results<Ok<BackupRun>, ProblemHttpResult>> (string name, WorkerClient worker, CancellationToken ct) =>
        {
            if (RequestProblems.CheckRouteName(name) is { } bad) return bad;
            var result = await worker.RunAsync(name, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithName("RunScheduleNow").WithSummary("Run a schedule's backup once, now");
    }

    // The worker's field errors stay field errors (400 with "errors"); anything else is its ProblemDetails passed on.
    private static Results<Created<ScheduleView>, ValidationProblem, ProblemHttpResult> Fail(WorkerResult<ScheduleView> result) =>
        result.Errors is { } errors
            ? TypedResults.ValidationProblem(errors, result.Problem!.Detail, title: result.Problem.Title)
            : RequestProblems.FromWorker(result);
}
