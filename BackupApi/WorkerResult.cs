using System.Net;
using Microsoft.AspNetCore.Mvc;

namespace BackupApi;

/// <summary>The worker's answer: a value, or the problem to hand the operator.</summary>
public sealed record WorkerResult<T>(T? Value, HttpStatusCode Status, ProblemDetails? Problem, IDictionary<string, string[]>? Errors)
{
    public bool IsSuccess => Problem is null;
}
