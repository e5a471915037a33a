using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Mvc;

namespace BackupApi;

/// <summary>
/// Calls BackupWorker through Dapr service invocation on this app's sidecar (<c>http://backupworker/...</c> becomes
/// <c>{DAPR_HTTP_ENDPOINT}/v1.0/invoke/backupworker/method/...</c>), as Dapr's two-app jobs quickstart does: the worker
/// owns the jobs because triggers go back to the app id that scheduled them.
/// </summary>
public sealed partial class WorkerClient(HttpClient http)
{
    public const string AppId = "backupworker";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public Task<WorkerResult<ScheduleView>> CreateAsync(CreateScheduleRequest request, CancellationToken ct) =>
        SendAsync<ScheduleView>(new HttpRequestMessage(HttpMethod.Post, "/schedules") { Content = JsonContent.Create(request, options: Json) }, ct);

    public Task<WorkerResult<List<ScheduleView>>> ListAsync(CancellationToken ct) =>
        SendAsync<List<ScheduleView>>(new HttpRequestMessage(HttpMethod.Get, "/schedules"), ct);

    public Task<WorkerResult<ScheduleView>> GetAsync(string name, CancellationToken ct) =>
        SendAsync<ScheduleView>(new HttpRequestMessage(HttpMethod.Get, "/schedules/" + Uri.EscapeDataString(name)), ct);

    public Task<WorkerResult<object>> DeleteAsync(string name, CancellationToken ct) =>
        SendAsync<object>(new HttpRequestMessage(HttpMethod.Delete, "/schedules/" + Uri.EscapeDataString(name)), ct);

    public Task<WorkerResult<BackupRun>> RunAsync(string name, CancellationToken ct) =>
        SendAsync<BackupRun>(new HttpRequestMessage(HttpMethod.Post, "/schedules/" + Uri.EscapeDataString(name) + "/run"), ct);

    public Task<WorkerResult<List<BackupRun>>> BackupsAsync(string? schedule, string? database, CancellationToken ct) =>
        SendAsync<List<BackupRun>>(new HttpRequestMessage(HttpMethod.Get, "/backups" + Query(("schedule", schedule), ("database", database))), ct);

    public Task<WorkerResult<List<BackupRun>>> RunsAsync(string? schedule, string? database, int? limit, CancellationToken ct) =>
        SendAsync<List<BackupRun>>(new HttpRequestMessage(HttpMethod.Get, "/runs" + Query(("schedule", schedule), ("database", database), ("limit", limit?.ToString(System.Globalization.CultureInfo.InvariantCulture)))), ct);

    private async Task<WorkerResult<T>> SendAsync<T>(HttpRequestMessage request, CancellationToken ct)
    {
        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, ct);
        }
        catch (HttpRequestException e)
        {
            return Failure<T>(HttpStatusCode.ServiceUnavailable, "Sidecar unavailable", $"BackupApi's Dapr sidecar could not be reached: {e.Message}");
        }
        catch (TaskCanceledException) when (!ct.IsCancellationRequested)
        {
            // The worker may have done what was asked (started a restore, taken a backup): say so rather than fail blind.
            return Failure<T>(HttpStatusCode.GatewayTimeout, "BackupWorker did not answer in time",
                $"No answer from BackupWorker within {http.Timeout:c} (BackupApi:WorkerTimeout). The request may still complete " +
                "there: check GET /restores, /drills or /runs before sending it again.");
        }
        using (response)
        {
            if (response.IsSuccessStatusCode)
            {
                var value = response.StatusCode == HttpStatusCode.NoContent || response.Content.Headers.ContentLength == 0
                    ? default
                    : await response.Content.ReadFromJsonAsync<T>(Json, ct);
                return new WorkerResult<T>(value, response.StatusCode, null, null);
            }
            var body = await response.Content.ReadAsStringAsync(ct);
            if (response.Content.Headers.ContentType?.MediaType == "application/problem+json" || LooksLikeProblem(body))
            {
                // The worker's own answer (validation, conflict, jobs API refusal, failed run): pass it on as it is.
                var problem = JsonSerializer.Deserialize<HttpValidationProblemDetails>(body, Json)!;
                problem.Status ??= (int)response.StatusCode;
                return new WorkerResult<T>(default, response.StatusCode, problem, problem.Errors.Count > 0 ? problem.Errors : null);
            }
            // Not the worker's: Dapr's invocation error ({"errorCode":"ERR_DIRECT_INVOKE","message":...}) or similar.
            var message = TryReadDaprMessage(body) ?? body;
            return Failure<T>(HttpStatusCode.BadGateway, "BackupWorker unreachable through Dapr service invocation",
                $"{(int)response.StatusCode}: {message}");
        }
    }

    private static WorkerResult<T> Failure<T>(HttpStatusCode status, string title, string detail) =>
        new(default, status, new ProblemDetails { Status = (int)status, Title = title, Detail = detail }, null);

    // A sidecar that does not keep the worker's Content-Type still passes the body: recognise ProblemDetails by shape.
    private static bool LooksLikeProblem(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("title", out _) && document.RootElement.TryGetProperty("status", out _);
        }
        catch (JsonException)
        {
            return false;
        }
    }

    private static string? TryReadDaprMessage(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            if (document.RootElement.ValueKind != JsonValueKind.Object) return null;
            var code = document.RootElement.TryGetProperty("errorCode", out var c) ? c.GetString() : null;
            var message = document.RootElement.TryGetProperty("message", out var m) ? m.GetString() : null;
            return message is null ? null : code is null ? message : $"{code}: {message}";
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string Query(params (string Key, string? Value)[] pairs)
    {
        var parts = pairs.Where(p => !string.IsNullOrEmpty(p.Value)).Select(p => $"{p.Key}={Uri.EscapeDataString(p.Value!)}").ToList();
        return parts.Count == 0 ? "" : "?" + string.Join('&', parts);
    }
}
