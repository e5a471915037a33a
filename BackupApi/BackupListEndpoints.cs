using Microsoft.AspNetCore.Http.HttpResults;

namespace BackupApi;

/// <summary>Read-only routes over what the worker has taken: its backups on disk and every run.</summary>
public static class BackupListEndpoints
{
    public static void MapBackupListApi(this RouteGroupBuilder api)
    {
        api.MapGet("/backups", async Task<Results<Ok<List<BackupRun>>, ValidationProblem, ProblemHttpResult>> (string? schedule, string? database, WorkerClient worker, CancellationToken ct) =>
        {
            if (RequestProblems.CheckFilters(schedule, database, limit: null) is { } bad) return bad;
            var result = await worker.BackupsAsync(schedule, database, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithTags("Backups").WithName("ListBackups").WithSummary("Backups on disk (newest first), optionally of one schedule or database");

        api.MapGet("/runs", async Task<Results<Ok<List<BackupRun>>, ValidationProblem, ProblemHttpResult>> (string? schedule, string? database, int? limit, WorkerClient worker, CancellationToken ct) =>
        {
            if (RequestProblems.CheckFilters(schedule, database, limit) is { } bad) return bad;
            var result = await worker.RunsAsync(schedule, database, limit, ct);
            return result.IsSuccess ? TypedResults.Ok(result.Value!) : RequestProblems.FromWorker(result);
        })
        .WithTags("Backups").WithName("ListRuns").WithSummary("Every backup run, succeeded or failed (newest first)");
    }
}
