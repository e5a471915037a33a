using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;

namespace BackupApi;

/// <summary>
/// How BackupApi answers requests it cannot take: always a 4xx ProblemDetails that says which part was wrong, never a
/// 500, never the runtime's internals (type names, stack traces).
/// </summary>
public static class RequestProblems
{
    /// <summary>Largest request body accepted (a schedule is a few hundred bytes).</summary>
    public const long MaxBodyBytes = 64 * 1024;

    /// <summary>Longest job name Dapr's name validator is known to accept comfortably (600 is refused).</summary>
    public const int MaxRouteNameLength = 500;

    public const int MaxRunsLimit = 10_000;

    /// <summary>The worker's ProblemDetails passed on as it answered, with its status, title, detail and extensions.</summary>
    public static ProblemHttpResult FromWorker<T>(WorkerResult<T> result) =>
        TypedResults.Problem(result.Problem!.Detail, statusCode: result.Problem.Status ?? (int)result.Status, title: result.Problem.Title,
            extensions: result.Problem.Extensions.Count > 0 ? result.Problem.Extensions : null);

    /// <summary>The status an exception is answered with: a malformed request is the caller's error, anything else ours.</summary>
    public static int StatusOf(Exception exception) => exception is BadHttpRequestException bad ? bad.StatusCode : StatusCodes.Status500InternalServerError;

    /// <summary>Says what was wrong with a malformed request, in our words (the exception's own text names .NET types).</summary>
    public static void Describe(ProblemDetailsContext context)
    {
        if (context.Exception is not BadHttpRequestException bad) return;
        var json = FindJsonException(bad);
        context.ProblemDetails.Title = bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "Request body too large" : "Malformed request";
        context.ProblemDetails.Detail = bad.StatusCode switch
        {
            StatusCodes.Status413PayloadTooLarge => $"The request body is larger than {MaxBodyBytes} bytes.",
            _ when json is not null => json.Path is { Length: > 1 } path
                ? $"The request body is not a valid value at '{path}': a wrong JSON type, a number out of range or malformed JSON."
                : "The request body is not valid JSON for this route.",
            _ when bad.Message.StartsWith("Failed to bind parameter", StringComparison.Ordinal) =>
                $"A route or query value could not be read: {ParameterOf(bad.Message)} has the wrong type or is out of range.",
            _ when bad.Message.Contains("body", StringComparison.OrdinalIgnoreCase) => "The request body is missing, empty or not JSON (send Content-Type: application/json).",
            _ => "The request could not be read.",
        };
        context.ProblemDetails.Extensions.Remove("exception");
    }

    /// <summary>A 400 when a route's <c>{name}</c> cannot be a job name (Dapr's rule: no '/', '\', '#', '?', control character, '.' or '..').</summary>
    public static ProblemHttpResult? CheckRouteName(string name) =>
        IsJobName(name) ? null
            : TypedResults.Problem($"Not a schedule name: 1-{MaxRouteNameLength} characters, none of '/', '\\', '#', '?', '%' or a control character, no white space at either end, and not '.' or '..'.",
                statusCode: StatusCodes.Status400BadRequest, title: "Invalid schedule name");

    /// <summary>A 400 naming each query value that cannot match anything (rather than an empty answer that hides a typo).</summary>
    public static ValidationProblem? CheckFilters(string? schedule, string? database, int? limit)
    {
        var errors = new Dictionary<string, string[]>();
        if (schedule is not null && !IsJobName(schedule)) errors["schedule"] = ["Not a schedule name."];
        if (database is not null && !ScheduleValidator.IsName(database)) errors["database"] = ["Not a database name (1-100 letters, digits, '-', '_' or '.')."];
        if (limit is < 1 or > MaxRunsLimit) errors["limit"] = [$"limit must be between 1 and {MaxRunsLimit}."];
        return errors.Count == 0 ? null : TypedResults.ValidationProblem(errors, title: "Invalid query");
    }

    // Also refused: '%' and white space at either end. Neither survives every hop of service invocation (a hop that
    // decodes the path again turns "x%2520" into "x " and a URI built from it drops the space), so such a name could
    // reach the worker as another schedule's ("x").
    private static bool IsJobName(string name) =>
        name.Length is > 0 and <= MaxRouteNameLength && name is not ("." or "..")
        && !char.IsWhiteSpace(name[0]) && !char.IsWhiteSpace(name[^1])
        && !name.Any(c => char.IsControl(c) || c is '/' or '\\' or '#' or '?' or '%');

    private static JsonException? FindJsonException(Exception? e)
    {
        for (; e is not null; e = e.InnerException)
            if (e is JsonException json) return json;
        return null;
    }

    // "Failed to bind parameter "int? limit" from "abc"." → limit
    private static string ParameterOf(string message)
    {
        var start = message.IndexOf('"');
        var end = start < 0 ? -1 : message.IndexOf('"', start + 1);
        if (end < 0) return "a value";
        var declaration = message[(start + 1)..end];
        return "'" + declaration[(declaration.LastIndexOf(' ') + 1)..] + "'";
    }
}
