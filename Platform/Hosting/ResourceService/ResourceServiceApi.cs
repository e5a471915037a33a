using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Platform.Hosting.Orchestration;

namespace Platform.Hosting.ResourceService;

public sealed record ResourceEndpointDto(string Name, string Url);

public sealed record EnvironmentVariableDto(string Name, string Value);

public sealed record ResourceDto(
    string Name, string Type, string State, string? Health, int? Pid, int Restarts, DateTime? StartTime, int? ExitCode,
    string? Parent, IReadOnlyList<ResourceEndpointDto> Endpoints, IReadOnlyList<EnvironmentVariableDto> Environment);

public sealed record LogLineDto(long Seq, DateTime Timestamp, bool IsError, string Text);

/// <summary>
/// The AppHost's resource service (Aspire's is gRPC; ours is the small HTTP JSON API of the team contract), on a loopback
/// port chosen by the OS, guarded by the <c>x-resource-service-api-key</c> header. The dashboard reads it.
/// </summary>
internal sealed class ResourceServiceApi : IAsyncDisposable
{
    public const string ApiKeyHeader = "x-resource-service-api-key";
    private WebApplication? _app;

    public string Url { get; private set; } = "";

    public async Task StartAsync(Orchestrator orchestrator, string apiKey, CancellationToken cancellationToken)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = [], ContentRootPath = AppContext.BaseDirectory });
        builder.Logging.ClearProviders();
        builder.WebHost.ConfigureKestrel(k => k.Listen(IPAddress.Loopback, 0));
        builder.Services.ConfigureHttpJsonOptions(o => o.SerializerOptions.DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.Never);
        var app = builder.Build();

        app.Use(async (context, next) =>
        {
            if (apiKey.Length > 0 && context.Request.Headers[ApiKeyHeader] != apiKey)
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
            await next(context);
        });

        var api = app.MapGroup("/api/resources");
        api.MapGet("/", () => TypedResults.Ok(orchestrator.Notifications.Current()
            .OrderBy(e => IndexOf(orchestrator, e.Resource))
            .Select(ToDto).ToList()));

        api.MapGet("/{name}/logs", Results<Ok<List<LogLineDto>>, NotFound> (string name, long? after) =>
            orchestrator.Runner(name) is null
                ? TypedResults.NotFound()
                : TypedResults.Ok(orchestrator.Logs.GetLines(name, after ?? 0, 1000)
                    .Select(l => new LogLineDto(l.Seq, l.Timestamp, l.IsError, l.Text)).ToList()));

        api.MapPost("/{name}/commands/{command}", Results<Accepted, NotFound, Conflict<string>, BadRequest<string>> (string name, string command) =>
        {
            if (orchestrator.Runner(name) is not { } runner) return TypedResults.NotFound();
            bool? accepted = command switch
            {
                "start" => runner.TryStart(),
                "stop" => runner.TryStop(),
                "restart" => runner.TryRestart(),
                _ => null,
            };
            return accepted switch
            {
                null => TypedResults.BadRequest($"Unknown command '{command}'; use start, stop or restart."),
                true => TypedResults.Accepted((string?)null),
                false => TypedResults.Conflict($"Command '{command}' is not allowed while '{name}' is {State(orchestrator, name)}."),
            };
        });

        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Url = address.Replace("localhost", "127.0.0.1", StringComparison.Ordinal).TrimEnd('/');
        _app = app;
    }

    private static string State(Orchestrator orchestrator, string name)
        => orchestrator.Notifications.TryGetCurrentState(name, out var e) ? e!.Snapshot.State : "unknown";

    private static int IndexOf(Orchestrator orchestrator, IResource resource)
    {
        var list = orchestrator.Context.Resources;
        for (var i = 0; i < list.Count; i++) if (ReferenceEquals(list[i], resource)) return i;
        return int.MaxValue;
    }

    private static ResourceDto ToDto(ResourceEvent e)
    {
        var s = e.Snapshot;
        return new ResourceDto(e.Resource.Name, s.ResourceType, s.State, s.HealthStatus, s.Pid, s.Restarts,
            s.StartTimeUtc, s.ExitCode, s.Parent,
            s.Urls.Select(u => new ResourceEndpointDto(u.Name, u.Url)).ToList(),
            s.EnvironmentVariables.Select(v => new EnvironmentVariableDto(v.Name, v.Value)).ToList());
    }

    public async ValueTask DisposeAsync()
    {
        if (_app is null) return;
        await _app.StopAsync();
        await _app.DisposeAsync();
        _app = null;
    }
}
