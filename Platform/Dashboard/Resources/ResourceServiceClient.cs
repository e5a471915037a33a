using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Platform.Dashboard.Resources;

public sealed record ResourceEndpoint(string Name, string Url);
public sealed record ResourceEnvironmentVariable(string Name, string? Value);

/// <summary>One resource as the AppHost resource service (GET /api/resources) describes it.</summary>
public sealed record ResourceInfo(
    string Name, string Type, string State, string? Health, int? Pid, int Restarts, DateTimeOffset? StartTime,
    int? ExitCode, string? Parent, IReadOnlyList<ResourceEndpoint>? Endpoints, IReadOnlyList<ResourceEnvironmentVariable>? Environment);

public sealed record ConsoleLine(long Seq, DateTimeOffset Timestamp, bool IsError, string Text);

public enum CommandOutcome { Accepted, UnknownResource, NotAllowedNow, Failed }

/// <summary>Client of the AppHost resource service (HTTP JSON on loopback, contract in COMMON.md).</summary>
public sealed class ResourceServiceClient(HttpClient http, IOptions<DashboardOptions> options)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    public bool Configured { get; } = !string.IsNullOrWhiteSpace(options.Value.ResourceServiceUrl);

    public async Task<IReadOnlyList<ResourceInfo>> GetResourcesAsync(CancellationToken ct) =>
        await http.GetFromJsonAsync<List<ResourceInfo>>("api/resources", Json, ct) ?? [];

    public async Task<IReadOnlyList<ConsoleLine>> GetLogsAsync(string resource, long after, CancellationToken ct) =>
        await http.GetFromJsonAsync<List<ConsoleLine>>($"api/resources/{Uri.EscapeDataString(resource)}/logs?after={after}", Json, ct) ?? [];

    public async Task<CommandOutcome> SendCommandAsync(string resource, string command, CancellationToken ct)
    {
        using var response = await http.PostAsync($"api/resources/{Uri.EscapeDataString(resource)}/commands/{Uri.EscapeDataString(command)}", null, ct);
        return response.StatusCode switch
        {
            _ when response.IsSuccessStatusCode => CommandOutcome.Accepted,
            HttpStatusCode.NotFound => CommandOutcome.UnknownResource,
            HttpStatusCode.Conflict => CommandOutcome.NotAllowedNow,
            _ => CommandOutcome.Failed,
        };
    }

    public static void Configure(HttpClient http, DashboardOptions options)
    {
        if (!string.IsNullOrWhiteSpace(options.ResourceServiceUrl))
            http.BaseAddress = new Uri(options.ResourceServiceUrl.TrimEnd('/') + "/");
        if (!string.IsNullOrEmpty(options.ResourceServiceApiKey))
            http.DefaultRequestHeaders.Add("x-resource-service-api-key", options.ResourceServiceApiKey);
        http.Timeout = TimeSpan.FromSeconds(10);
    }
}
